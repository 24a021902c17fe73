// SwiftletModel.cs — a loaded model: immutable, shareable between threads and
// contexts. Dispose (or the finalizer) releases this hold on it; contexts keep
// the model alive on their own, so the order of Dispose calls never matters.
using System;
using System.Collections.Generic;
using Swiftlet.Interop;

namespace Swiftlet
{
    public sealed class SwiftletModel : IDisposable
    {
        internal readonly SafeModelHandle Handle;

        /// <summary>
        /// Loads a GGUF file. `progress` (may be null) hears fractions from 0 to
        /// 1 on the calling thread; returning false cancels the load
        /// (SwiftletException with Status.Cancelled).
        /// </summary>
        public SwiftletModel(string path, int threads = 0, Func<float, bool> progress = null)
        {
            swiftlet_model_params p;
            Native.swiftlet_model_params_init(out p);
            p.n_threads = threads;
            Exception thrown = null;
            swiftlet_progress_callback trampoline = null;
            if (progress != null)
            {
                trampoline = (fraction, user) =>
                {
                    try { return progress(fraction) ? 1 : 0; }
                    catch (Exception e) { thrown = e; return 0; }  // never unwind through native frames
                };
                p.progress = System.Runtime.InteropServices.Marshal.GetFunctionPointerForDelegate(trampoline);
            }
            IntPtr model;
            var status = Native.swiftlet_model_load(Utf8.Bytes(path), ref p, out model);
            GC.KeepAlive(trampoline);
            if (thrown != null) throw thrown;
            SwiftletException.Check(status);
            Handle = new SafeModelHandle(model);
        }

        public static string Version { get { return Utf8.Read(Native.swiftlet_version()); } }
        public static string SystemInfo { get { return Utf8.Read(Native.swiftlet_system_info()); } }

        /// <summary>Which allocator the library uses and how many bytes it holds (all models and contexts).</summary>
        public static swiftlet_memory_info MemoryInfo
        {
            get
            {
                var info = new swiftlet_memory_info { struct_size = (uint)System.Runtime.InteropServices.Marshal.SizeOf(typeof(swiftlet_memory_info)) };
                SwiftletException.Check(Native.swiftlet_memory_get_info(ref info));
                return info;
            }
        }

        public swiftlet_model_info Info
        {
            get
            {
                var info = new swiftlet_model_info { struct_size = (uint)System.Runtime.InteropServices.Marshal.SizeOf(typeof(swiftlet_model_info)) };
                SwiftletException.Check(Native.swiftlet_model_get_info(Handle, ref info));
                return info;
            }
        }

        public string Architecture { get { return Utf8.Read(Info.architecture); } }
        public int VocabularySize { get { return Native.swiftlet_vocab_size(Handle); } }

        /// <summary>The token ids of `text`.</summary>
        public int[] Tokenize(string text, uint flags = TokenizeFlags.ModelBos)
        {
            var bytes = Utf8.Bytes(text);
            var length = new UIntPtr((uint)(bytes.Length - 1));
            UIntPtr count;
            var status = Native.swiftlet_tokenize(Handle, bytes, length, flags, null, UIntPtr.Zero, out count);
            if (status != Status.BufferTooSmall) SwiftletException.Check(status);
            var tokens = new int[(int)count.ToUInt64()];
            if (tokens.Length == 0) return tokens;
            SwiftletException.Check(Native.swiftlet_tokenize(Handle, bytes, length, flags, tokens, new UIntPtr((uint)tokens.Length), out count));
            return tokens;
        }

        /// <summary>The text of `tokens` (invalid UTF-8 becomes U+FFFD).</summary>
        public string Detokenize(int[] tokens)
        {
            UIntPtr length;
            var n = new UIntPtr((uint)tokens.Length);
            var status = Native.swiftlet_detokenize(Handle, tokens, n, null, UIntPtr.Zero, out length);
            if (status != Status.BufferTooSmall) SwiftletException.Check(status);
            var buffer = new byte[(int)length.ToUInt64() + 1];
            SwiftletException.Check(Native.swiftlet_detokenize(Handle, tokens, n, buffer, new UIntPtr((uint)buffer.Length), out length));
            return Utf8.Decode(buffer, (int)length.ToUInt64());
        }

        public bool IsEndOfGeneration(int token) { return Native.swiftlet_token_is_end_of_generation(Handle, token) != 0; }

        /// <summary>A conversation rendered with the model's chat template, or with `template`.</summary>
        public string FormatChat(IList<ChatMessage> messages, bool addGenerationPrompt = true, string template = null)
        {
            using (var pins = new PinnedStrings())
            {
                var native = ChatInterop.Messages(messages, pins);
                var p = ChatInterop.Params(template, pins);
                p.add_generation_prompt = addGenerationPrompt ? 1 : 0;
                UIntPtr length;
                var n = new UIntPtr((uint)native.Length);
                var status = Native.swiftlet_chat_format(Handle, native, n, ref p, null, UIntPtr.Zero, out length);
                if (status != Status.BufferTooSmall) SwiftletException.Check(status);
                var buffer = new byte[(int)length.ToUInt64() + 1];
                SwiftletException.Check(Native.swiftlet_chat_format(Handle, native, n, ref p, buffer, new UIntPtr((uint)buffer.Length), out length));
                return Utf8.Decode(buffer, (int)length.ToUInt64());
            }
        }

        public SwiftletContext CreateContext(ContextOptions options = null) { return new SwiftletContext(this, options ?? new ContextOptions()); }

        /// <summary>
        /// Loads the LoRA adapter at `path` (a GGUF file as llama.cpp's
        /// convert_lora_to_gguf.py writes it) for this model's contexts. A file
        /// that is not a LoRA adapter for this model throws SwiftletException
        /// with Status.InvalidArgument and the library's message naming what is wrong.
        /// </summary>
        public SwiftletAdapter LoadAdapter(string path) { return new SwiftletAdapter(this, path); }

        public void Dispose() { Handle.Dispose(); }
    }

    /// <summary>Chat messages and params as the C structs want them.</summary>
    static class ChatInterop
    {
        internal static swiftlet_chat_message[] Messages(IList<ChatMessage> messages, PinnedStrings pins)
        {
            var size = (uint)System.Runtime.InteropServices.Marshal.SizeOf(typeof(swiftlet_chat_message));
            var native = new swiftlet_chat_message[messages.Count];
            for (var i = 0; i < native.Length; i++)
            {
                if (messages[i].Role == null || messages[i].Content == null)
                    throw new ArgumentException("messages[" + i + "] has a null role or content");
                native[i] = new swiftlet_chat_message
                {
                    struct_size = size, role = pins.Pin(messages[i].Role), content = pins.Pin(messages[i].Content)
                };
            }
            return native;
        }

        internal static swiftlet_chat_params Params(string template, PinnedStrings pins)
        {
            swiftlet_chat_params p;
            Native.swiftlet_chat_params_init(out p);
            p.chat_template = pins.Pin(template);
            return p;
        }
    }
}
