// Options.cs — the plain types of the idiomatic API. Defaults are read from
// the library's own *_params_init functions, never copied here.
using System;
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
            swiftlet_sampler_params sampling;
            Native.swiftlet_sampler_params_init(out sampling);
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
            swiftlet_sampler_params p;
            Native.swiftlet_sampler_params_init(out p);
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

    /// <summary>The size and threads of a context.</summary>
    public sealed class ContextOptions
    {
        public int ContextSize;   // 0 = the model's training length, at most 4096
        public int Threads;       // 0 = one per core
        public int BatchSize;     // 0 = the library's default
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
