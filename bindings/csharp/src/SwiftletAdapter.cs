// SwiftletAdapter.cs — a LoRA adapter loaded for one model
// (SwiftletModel.LoadAdapter), attached to that model's contexts with
// SwiftletContext.SetAdapters. Immutable, shareable between threads and
// contexts. Dispose (or the finalizer) releases this hold on it: a context it
// is attached to keeps its own until it detaches it or is freed, and the
// adapter keeps its model alive, so the order of Dispose calls never matters.
using System;
using Swiftlet.Interop;

namespace Swiftlet
{
    public sealed class SwiftletAdapter : IDisposable
    {
        internal readonly SafeAdapterHandle Handle;

        /// <summary>The adapter's largest rank.</summary>
        public readonly int Rank;
        /// <summary>Its adapter.lora.alpha (0 when the file has none: the scale alone then applies).</summary>
        public readonly float Alpha;
        /// <summary>The number of base tensors it adapts.</summary>
        public readonly int TensorCount;

        internal SwiftletAdapter(SwiftletModel model, string path)
        {
            IntPtr adapter;
            SwiftletException.Check(Native.swiftlet_adapter_load(model.Handle, Utf8.Bytes(path), out adapter));
            Handle = new SafeAdapterHandle(adapter);
            SwiftletException.Check(Native.swiftlet_adapter_info(Handle, out Rank, out Alpha, out TensorCount));
        }

        public void Dispose() { Handle.Dispose(); }
    }
}
