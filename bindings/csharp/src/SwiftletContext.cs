// SwiftletContext.cs — one conversation's state (KV cache, worker threads).
// Used by one thread at a time (a second caller gets SwiftletException with
// Status.Busy); Cancel() may come from any thread and stops the call running then.
using System;
using System.Collections.Generic;
using System.Runtime.InteropServices;
using Swiftlet.Interop;

namespace Swiftlet
{
    public sealed class SwiftletContext : IDisposable
    {
        internal readonly SafeContextHandle Handle;
        readonly int vocabularySize;
        readonly int embeddingLength;
        // What the observer threw, rethrown by Check after the call it stopped
        // (an exception must never unwind through native frames).
        Exception observerThrown;

        internal SwiftletContext(SwiftletModel model, ContextOptions options)
        {
            var p = ContextOptions.NativeParams();
            p.n_ctx = options.ContextSize;
            p.n_threads = options.Threads;
            p.n_batch = options.BatchSize;
            p.n_seq_max = options.Sequences;
            p.overflow = options.Overflow;
            p.n_keep = options.Keep;
            p.n_discard = options.Discard;
            IntPtr context;
            SwiftletException.Check(Native.swiftlet_context_create(model.Handle, ref p, out context));
            Handle = new SafeContextHandle(context);
            SequenceCount = Math.Max(1, p.n_seq_max);
            vocabularySize = model.VocabularySize;
            embeddingLength = model.Info.n_embd;
        }

        /// <summary>Tokens in sequence 0 (Eval, Generate and Chat work on sequence 0).</summary>
        public int Position { get { return Native.swiftlet_context_position(Handle); } }
        /// <summary>Each sequence's capacity in tokens (n_ctx).</summary>
        public int Size { get { return Native.swiftlet_context_size(Handle); } }
        /// <summary>The number of sequences (ids 0 .. SequenceCount-1).</summary>
        public readonly int SequenceCount;

        /// <summary>Evaluates `tokens` after the current position.</summary>
        public void Eval(int[] tokens)
        {
            Check(Native.swiftlet_context_eval(Handle, tokens, new UIntPtr((uint)tokens.Length)));
        }

        /// <summary>A copy of the last evaluated token's logits, or null if there are none.</summary>
        public float[] Logits()
        {
            return Copy(Native.swiftlet_context_logits(Handle));
        }

        float[] Copy(IntPtr pointer)
        {
            if (pointer == IntPtr.Zero) return null;
            var logits = new float[vocabularySize];
            Marshal.Copy(pointer, logits, 0, logits.Length);
            return logits;
        }

        static void CheckLength(Array values, int count, string name)
        {
            if (values != null && values.Length != count)
                throw new ArgumentException(name + " has " + values.Length + " entries; tokens has " + count, name);
        }

        /// <summary>Pins `values` for the native call (zero for null); the caller frees the handles.</summary>
        static IntPtr Pin(Array values, List<GCHandle> pins)
        {
            if (values == null) return IntPtr.Zero;
            var pin = GCHandle.Alloc(values, GCHandleType.Pinned);
            pins.Add(pin);
            return pin.AddrOfPinnedObject();
        }

        /// <summary>
        /// One embedding per text (n_embd floats each), pooled as `pooling` says
        /// (a Pooling constant; Model: the model's own), L2-normalized unless
        /// `normalize` is false. A BERT model embeds many texts per pass; a
        /// decoder's context is empty afterwards (see swiftlet_embed).
        /// </summary>
        public float[][] Embed(string[] texts, bool normalize = true, int pooling = Interop.Pooling.Model)
        {
            var pinned = new GCHandle[texts.Length];
            var pointers = new IntPtr[texts.Length];
            try
            {
                for (int i = 0; i < texts.Length; i++)
                {
                    pinned[i] = GCHandle.Alloc(Utf8.Bytes(texts[i]), GCHandleType.Pinned);
                    pointers[i] = pinned[i].AddrOfPinnedObject();
                }
                swiftlet_embed_params p;
                Native.swiftlet_embed_params_init(out p);
                p.pooling = pooling;
                p.normalize = normalize ? 1 : 0;
                var output = new float[texts.Length * embeddingLength];
                UIntPtr count;
                Check(Native.swiftlet_embed(Handle, pointers, new UIntPtr((uint)texts.Length), ref p,
                                            output, new UIntPtr((uint)output.Length), out count));
                var rows = new float[texts.Length][];
                for (int i = 0; i < texts.Length; i++)
                {
                    rows[i] = new float[embeddingLength];
                    Array.Copy(output, i * embeddingLength, rows[i], 0, embeddingLength);
                }
                return rows;
            }
            finally
            {
                foreach (var handle in pinned) if (handle.IsAllocated) handle.Free();
            }
        }

        /// <summary>
        /// Evaluates tokens of several sequences in one pass (swiftlet_context_decode):
        /// entry i is tokens[i], appended to sequence seqIds[i] (null: all to 0);
        /// positions[i], if given, must be its sequence's next position (a check);
        /// logits[i] keeps entry i's logits for LogitsFor (null: each sequence's last entry).
        /// </summary>
        public void Decode(int[] tokens, int[] seqIds = null, int[] positions = null, bool[] logits = null)
        {
            if (tokens == null) throw new ArgumentNullException("tokens");
            CheckLength(seqIds, tokens.Length, "seqIds");
            CheckLength(positions, tokens.Length, "positions");
            CheckLength(logits, tokens.Length, "logits");
            var wanted = logits == null ? null : Array.ConvertAll(logits, keep => keep ? (sbyte)1 : (sbyte)0);
            var pins = new List<GCHandle>();
            try
            {
                var batch = new swiftlet_batch
                {
                    struct_size = (uint)Marshal.SizeOf(typeof(swiftlet_batch)), n_tokens = tokens.Length,
                    tokens = Pin(tokens, pins), seq_ids = Pin(seqIds, pins), positions = Pin(positions, pins),
                    logits = Pin(wanted, pins),
                };
                Check(Native.swiftlet_context_decode(Handle, ref batch));
            }
            finally
            {
                foreach (var pin in pins) pin.Free();
            }
        }

        /// <summary>A copy of entry `index`'s logits from the last Decode, or null if it kept none.</summary>
        public float[] LogitsFor(int index)
        {
            return Copy(Native.swiftlet_context_logits_for(Handle, index));
        }

        /// <summary>The number of tokens sequence `seq` holds; -1 for an id that is not one of the context's.</summary>
        public int SeqLength(int seq) { return Native.swiftlet_context_seq_length(Handle, seq); }

        /// <summary>Removes positions start &lt;= p &lt; end of sequence `seq` (end &lt; 0: to its end); a tail is a rewind.</summary>
        public void SeqRemove(int seq, int start, int end = -1) { Check(Native.swiftlet_context_seq_remove(Handle, seq, start, end)); }

        /// <summary>Makes sequence `dst` hold the first `count` tokens of `src` (count &lt; 0: all), cache included.</summary>
        public void SeqCopy(int src, int dst, int count = -1) { Check(Native.swiftlet_context_seq_copy(Handle, src, dst, count)); }

        /// <summary>Empties every sequence except `seq`.</summary>
        public void SeqKeep(int seq) { Check(Native.swiftlet_context_seq_keep(Handle, seq)); }

        public void Rewind(int position) { Check(Native.swiftlet_context_rewind(Handle, position)); }
        public void Reset() { Check(Native.swiftlet_context_reset(Handle)); }

        /// <summary>Stops the Eval/Generate/Chat running now (from any thread); does nothing if none runs.</summary>
        public void Cancel() { Native.swiftlet_context_cancel(Handle); }

        /// <summary>
        /// Hands `observer` the views `kinds` asks for (Observe bits) inside every
        /// forward pass of this context: Eval, Decode, Generate, Chat, Embed, and
        /// the re-evaluation a rewind or context shift may need. Per layer it
        /// gets Attention, AfterAttention, Hidden, then Final once; read the
        /// values during the call (Observation.ToArray, Row). Replaces any
        /// observer; null (or kinds 0) removes it. Returning false stops the
        /// pass as Cancel does: Eval, Decode and Embed throw SwiftletException with
        /// Status.Cancelled, Generate and Chat return StopReason.Cancelled; the
        /// sequence keeps the tokens of earlier passes. An exception the
        /// observer throws stops it too and is rethrown to that call's caller.
        /// </summary>
        public void SetObserver(uint kinds, Func<Observation, bool> observer)
        {
            swiftlet_observer_callback trampoline = null;
            if (observer != null && kinds != 0)
            {
                trampoline = (pointer, userData) =>
                {
                    var view = new Observation(pointer);
                    try { return observer(view) ? 1 : 0; }
                    catch (Exception e) { observerThrown = e; return 0; }
                    finally { view.Expire(); }
                };
            }
            Check(Native.swiftlet_context_set_observer(Handle, kinds, trampoline, IntPtr.Zero));
            // The library calls it until it is replaced: the handle keeps it alive.
            Handle.Observer = trampoline;
        }

        /// <summary>
        /// Replaces the context's LoRA adapters: adapters[i] at scales[i], their
        /// terms adding (null or empty: detach all; at most Limits.MaxAdapters;
        /// scale 0 applies nothing). A change empties every sequence, since the
        /// cache was computed with the old weights; the set already attached
        /// changes nothing. The context keeps each adapter alive while attached.
        /// </summary>
        public void SetAdapters(SwiftletAdapter[] adapters, float[] scales)
        {
            var n = adapters == null ? 0 : adapters.Length;
            if ((scales == null ? 0 : scales.Length) != n)
                throw new ArgumentException("scales has " + (scales == null ? 0 : scales.Length) + " entries; adapters has " + n, "scales");
            var handles = new IntPtr[n];
            var held = new bool[n];
            try
            {
                // A null entry goes through as NULL, for the library's own message.
                for (var i = 0; i < n; i++)
                {
                    if (adapters[i] == null) continue;
                    adapters[i].Handle.DangerousAddRef(ref held[i]);
                    handles[i] = adapters[i].Handle.DangerousGetHandle();
                }
                Check(Native.swiftlet_context_set_adapters(Handle, n == 0 ? null : handles, n == 0 ? null : scales, n));
            }
            finally
            {
                for (var i = 0; i < n; i++) if (held[i]) adapters[i].Handle.DangerousRelease();
            }
        }

        /// <summary>Attaches `adapter` alone, at `scale`.</summary>
        public void SetAdapter(SwiftletAdapter adapter, float scale = 1) { SetAdapters(new[] { adapter }, new[] { scale }); }

        /// <summary>Detaches all adapters (emptying the sequences if any was attached).</summary>
        public void ClearAdapters() { SetAdapters(null, null); }

        /// <summary>Throws for a failing status, or first what the observer threw during the call.</summary>
        void Check(int status)
        {
            RethrowFromObserver();
            SwiftletException.Check(status);
        }

        void RethrowFromObserver()
        {
            var thrown = observerThrown;
            observerThrown = null;
            if (thrown != null) throw thrown;
        }

        /// <summary>
        /// Continues the context with `prompt` and generates, passing each piece
        /// of text to `onPiece` (may be null) as it comes. A cancelled or
        /// context-full generation returns its result (StopReason says so);
        /// other failures throw SwiftletException.
        /// </summary>
        public GenerateResult Generate(string prompt, GenerateOptions options, Action<string> onPiece)
        {
            var stream = new PieceStream(onPiece);
            var sampling = options.SamplerParams();
            var pinned = GCHandle.Alloc(sampling, GCHandleType.Pinned);
            try
            {
                var p = GenerateParams(options, pinned.AddrOfPinnedObject());
                var result = NewResult();
                var status = Native.swiftlet_generate(Handle, Utf8.Bytes(prompt), ref p, stream.Callback, IntPtr.Zero, ref result);
                RethrowFromObserver();
                return stream.Finish(status, result);
            }
            finally { pinned.Free(); }
        }

        /// <summary>
        /// The assistant's reply to `messages` (the model's chat template, or
        /// `template`), reusing what the context already holds of the same chat.
        /// </summary>
        public GenerateResult Chat(IList<ChatMessage> messages, GenerateOptions options, Action<string> onPiece,
                                   string template = null)
        {
            var stream = new PieceStream(onPiece);
            var sampling = options.SamplerParams();
            var pinned = GCHandle.Alloc(sampling, GCHandleType.Pinned);
            try
            {
                using (var pins = new PinnedStrings())
                {
                    var native = ChatInterop.Messages(messages, pins);
                    var chatParams = ChatInterop.Params(template, pins);
                    var p = GenerateParams(options, pinned.AddrOfPinnedObject());
                    var result = NewResult();
                    var status = Native.swiftlet_chat(Handle, native, new UIntPtr((uint)native.Length), ref chatParams, ref p,
                                                      stream.Callback, IntPtr.Zero, ref result);
                    RethrowFromObserver();
                    return stream.Finish(status, result);
                }
            }
            finally { pinned.Free(); }
        }

        public void Dispose() { Handle.Dispose(); }

        static swiftlet_generate_params GenerateParams(GenerateOptions options, IntPtr sampling)
        {
            swiftlet_generate_params p;
            Native.swiftlet_generate_params_init(out p);
            p.max_tokens = options.MaxTokens;
            p.tokenize_flags = options.TokenizeFlags;
            p.sampling = sampling;
            return p;
        }

        static swiftlet_generate_result NewResult()
        {
            // stop_reason -1: "not written", so a call that failed before
            // generating (a conversation too long for the context) is told
            // apart from one that stopped part way.
            return new swiftlet_generate_result
            {
                struct_size = (uint)Marshal.SizeOf(typeof(swiftlet_generate_result)), stop_reason = -1
            };
        }

        /// <summary>
        /// The token callback's managed side: decodes each piece, and keeps an
        /// exception thrown by the host's handler to rethrow after the native
        /// call returns (an exception must never unwind through native frames).
        /// </summary>
        sealed class PieceStream
        {
            readonly Action<string> onPiece;
            Exception thrown;
            internal readonly swiftlet_token_callback Callback;

            internal PieceStream(Action<string> onPiece)
            {
                this.onPiece = onPiece;
                Callback = Deliver;
            }

            int Deliver(IntPtr piece, UIntPtr length, int token, IntPtr userData)
            {
                if (onPiece == null) return 1;
                try
                {
                    onPiece(Utf8.Read(piece, (int)length.ToUInt64()));
                    return 1;
                }
                catch (Exception e)
                {
                    thrown = e;
                    return 0;
                }
            }

            internal GenerateResult Finish(int status, swiftlet_generate_result result)
            {
                GC.KeepAlive(Callback);
                if (thrown != null) throw thrown;
                var stopped = (status == Status.Cancelled || status == Status.ContextFull) && result.stop_reason >= 0;
                if (!stopped) SwiftletException.Check(status);
                return new GenerateResult
                {
                    PromptTokens = result.n_prompt_tokens, GeneratedTokens = result.n_generated_tokens,
                    StopReason = result.stop_reason
                };
            }
        }
    }
}
