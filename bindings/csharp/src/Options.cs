// Options.cs — the plain types of the idiomatic API. Defaults are read from
// the library's own *_params_init functions, never copied here.
using System;
using System.Runtime.InteropServices;
using Swiftlet.Interop;

namespace Swiftlet
{
    /// <summary>One turn of a conversation.</summary>
    public struct ChatMessage
    {
        public string Role;
        public string Content;
        public ChatMessage(string role, string content) { Role = role; Content = content; }
    }

    /// <summary>How to sample and how long to generate.</summary>
    public sealed class GenerateOptions
    {
        public int MaxTokens;
        public float Temperature;      // 0 = greedy
        public int TopK;
        public float TopP;
        public float MinP;
        public float RepeatPenalty;
        public int RepeatLastN;
        public ulong Seed;
        /// <summary>Tokenize flags for the prompt (Interop.TokenizeFlags); ignored by Chat.</summary>
        public uint TokenizeFlags;

        public GenerateOptions()
        {
            swiftlet_generate_params generate;
            Native.swiftlet_generate_params_init(out generate);
            swiftlet_sampler_params sampling = Native.DefaultSamplerParams();
            MaxTokens = generate.max_tokens;
            TokenizeFlags = generate.tokenize_flags;
            Temperature = sampling.temperature;
            TopK = sampling.top_k;
            TopP = sampling.top_p;
            MinP = sampling.min_p;
            RepeatPenalty = sampling.repeat_penalty;
            RepeatLastN = sampling.repeat_last_n;
            Seed = sampling.seed;
        }

        /// <summary>Greedy decoding: the same text on every run.</summary>
        public static GenerateOptions Greedy(int maxTokens)
        {
            return new GenerateOptions { MaxTokens = maxTokens, Temperature = 0 };
        }

        internal swiftlet_sampler_params SamplerParams()
        {
            swiftlet_sampler_params p = Native.DefaultSamplerParams();
            p.temperature = Temperature;
            p.top_k = TopK;
            p.top_p = TopP;
            p.min_p = MinP;
            p.repeat_penalty = RepeatPenalty;
            p.repeat_last_n = RepeatLastN;
            p.seed = Seed;
            return p;
        }
    }

    /// <summary>The size, threads and sequences of a context; defaults from swiftlet_context_params_init_sized.</summary>
    public sealed class ContextOptions
    {
        public int ContextSize;   // tokens per sequence; 0 = the model's training length, at most 4096
        public int Threads;       // 0 = one per core
        public int BatchSize;     // 0 = the library's default
        public int Sequences;     // n_seq_max: sequence ids 0 .. Sequences-1 (the KV cache is Sequences x ContextSize)
        public int Overflow;      // Interop.Overflow.Error (ContextFull) or .Shift (keep Keep tokens, drop Discard, go on)
        public int Keep;          // n_keep: with Shift, a sequence's first tokens, always kept
        public int Discard;       // n_discard: with Shift, tokens dropped at each shift; 0 = half of those not kept

        public ContextOptions()
        {
            var p = NativeParams();
            ContextSize = p.n_ctx;
            Threads = p.n_threads;
            BatchSize = p.n_batch;
            Sequences = p.n_seq_max;
            Overflow = p.overflow;
            Keep = p.n_keep;
            Discard = p.n_discard;
        }

        /// <summary>The library's defaults, the whole struct (the unsized init fills only the 0.3 part).</summary>
        internal static swiftlet_context_params NativeParams()
        {
            var p = new swiftlet_context_params();
            Native.swiftlet_context_params_init_sized(ref p, new UIntPtr((uint)Marshal.SizeOf(typeof(swiftlet_context_params))));
            return p;
        }
    }

    /// <summary>How a generation ended.</summary>
    public struct GenerateResult
    {
        public int PromptTokens;
        public int GeneratedTokens;
        /// <summary>Interop.StopReason: EndOfGeneration, MaxTokens, Callback, Cancelled, ContextFull.</summary>
        public int StopReason;
        public bool Cancelled { get { return StopReason == Interop.StopReason.Cancelled; } }
    }
}
