// Utf8.cs — strings across the boundary. The library speaks NUL-terminated
// UTF-8; we never rely on the marshaller's string conversion (its encoding
// differs between runtimes and platforms) and never let it free library memory.
using System;
using System.Runtime.InteropServices;
using System.Text;

namespace Swiftlet.Interop
{
    public static class Utf8
    {
        /// <summary>`text` as NUL-terminated UTF-8, owned by the caller for the call.</summary>
        public static byte[] Bytes(string text)
        {
            if (text == null) throw new ArgumentNullException("text");
            var count = Encoding.UTF8.GetByteCount(text);
            var bytes = new byte[count + 1];
            Encoding.UTF8.GetBytes(text, 0, text.Length, bytes, 0);
            return bytes;
        }

        /// <summary>A copy of a NUL-terminated UTF-8 string the library owns ("" for zero).</summary>
        public static string Read(IntPtr pointer)
        {
            if (pointer == IntPtr.Zero) return "";
            var length = 0;
            while (Marshal.ReadByte(pointer, length) != 0) length++;
            return Read(pointer, length);
        }

        /// <summary>A copy of `length` UTF-8 bytes the library owns.</summary>
        public static string Read(IntPtr pointer, int length)
        {
            if (length == 0) return "";
            var bytes = new byte[length];
            Marshal.Copy(pointer, bytes, 0, length);
            return Encoding.UTF8.GetString(bytes);
        }

        /// <summary>The text of the first `length` UTF-8 bytes of a buffer the library filled.</summary>
        public static string Decode(byte[] buffer, int length) { return Encoding.UTF8.GetString(buffer, 0, length); }
    }

    /// <summary>
    /// UTF-8 copies pinned for the duration of one call, for struct fields
    /// that point at strings (chat messages, a chat template). Dispose unpins.
    /// </summary>
    public sealed class PinnedStrings : IDisposable
    {
        readonly System.Collections.Generic.List<GCHandle> pins = new System.Collections.Generic.List<GCHandle>();

        public IntPtr Pin(string text)
        {
            if (text == null) return IntPtr.Zero;
            var handle = GCHandle.Alloc(Utf8.Bytes(text), GCHandleType.Pinned);
            pins.Add(handle);
            return handle.AddrOfPinnedObject();
        }

        public void Dispose()
        {
            foreach (var pin in pins) pin.Free();
            pins.Clear();
        }
    }
}
