/// A model as the one block implementation (Transformer) runs it: its shape,
/// and the handful of choices in which architectures differ (decoders and
/// BERT-style encoders alike). An
/// architecture file (Model/Architectures/) fills it from GGUF metadata;
/// Runtime reads the shape only and never an architecture's name.
public struct TransformerConfig: Sendable, Equatable {
    public var embeddingLength: Int
    public var layerCount: Int
    public var headCount: Int
    public var kvHeadCount: Int
    public var headDimension: Int
    public var feedForwardLength: Int
    /// The context the model was trained with; for learned positions also the
    /// number of positions it has embeddings for.
    public var contextLength: Int
    public var vocabularySize: Int

    public var normalization: Normalization
    public var normEpsilon: Float
    public var positions: PositionEncoding
    public var feedForward: FeedForward
    /// The token embedding is multiplied by this before the first block (Gemma: √n_embd).
    public var embeddingScale: Float = 1
    /// Layers that attend only to recent positions (Gemma 3); nil: every layer sees every earlier position.
    public var slidingWindow: SlidingWindow? = nil
    /// The factor on q·k when it is not 1/√headDimension (Gemma 3 27B).
    public var queryScale: Float? = nil
    /// Where each branch's norm sits: before the branch (pre-LN, every decoder)
    /// or after the residual add (post-LN, BERT).
    public var normPlacement: NormPlacement = .beforeBranch
    /// Decoders attend to earlier positions only; an encoder's token attends
    /// to every token of its sequence, and the model has no output head.
    public var isCausal = true
    /// How an encoder's sequence becomes one embedding when the caller does not say.
    public var pooling: Pooling = .last

    public enum NormPlacement: Sendable, Equatable {
        /// x = x + f(norm(x)), a final norm before the head.
        case beforeBranch
        /// x = norm(x + f(x)), the embeddings normed too (embeddingNorm).
        case afterResidual
    }

    /// Pooling of a sequence's final hidden states: their mean, the first
    /// token's ([CLS]) or the last token's.
    public enum Pooling: Sendable, Equatable { case mean, first, last }

    /// What q·k is multiplied by before the softmax.
    public var attentionScale: Float { queryScale ?? 1 / Float(headDimension).squareRoot() }

    /// RMSNorm (llama, Qwen2) or LayerNorm with a bias (GPT-2).
    public enum Normalization: Sendable, Equatable { case rms, layer }

    public enum PositionEncoding: Sendable, Equatable {
        /// RoPE on queries and keys, pair i turned by position · base^(-2i/d).
        case rotary(RotaryPairing, base: Float)
        /// A learned embedding per position (position_embd), added to the token's.
        case learned
        /// The original Transformer's fixed table, added to the token's embedding:
        /// PE(p, 2i) = sin(p / 10000^(2i/d)), PE(p, 2i+1) = cos(p / 10000^(2i/d)).
        case sinusoidal
    }

    /// SwiGLU: down(silu(gate(x)) ⊙ up(x)); GeGLU: down(gelu(gate(x)) ⊙ up(x)) (Gemma);
    /// GELU: down(gelu(up(x))), the plain MLP of GPT-2 (gelu in its tanh form,
    /// as ggml computes it); GELU-erf: the same MLP with the exact
    /// x·Φ(x) = x/2·(1 + erf(x/√2)) (BERT's `hidden_act: gelu`).
    public enum FeedForward: Sendable, Equatable { case swiGLU, geGLU, gelu, geluErf }

    /// Sliding-window attention: all layers but every `period`-th attend to
    /// the last `length` positions only (their own included), with their own
    /// RoPE base; the others (indices period − 1, 2·period − 1, …) attend to
    /// every earlier position with the config's base.
    public struct SlidingWindow: Sendable, Equatable {
        public var length: Int
        public var period: Int
        public var rotaryBase: Float

        public func isWindowed(layer: Int) -> Bool { layer % period != period - 1 }
    }

    /// The window of `layer`'s attention, nil for one that sees every earlier position.
    public func window(layer: Int) -> Int? {
        guard let slidingWindow, slidingWindow.isWindowed(layer: layer) else { return nil }
        return slidingWindow.length
    }

    /// Query heads that share one key/value head (grouped-query attention).
    public var headsPerKVHead: Int { headCount / kvHeadCount }
    public var queryLength: Int { headCount * headDimension }
    public var kvLength: Int { kvHeadCount * headDimension }

    /// Limits far above any real model, so absurd values in a file are refused
    /// before any buffer is sized from them.
    static let maximumDimension = 1 << 20
    static let maximumLayers = 4096

    /// Checks what every block implementation needs, naming the metadata
    /// prefix (`architecture`) in messages.
    func validate(architecture: String) throws {
        func check(_ ok: Bool, _ message: @autoclosure () -> String) throws {
            if !ok { throw SwiftletError.invalidFile(message()) }
        }
        for (name, value) in [("embedding_length", embeddingLength), ("feed_forward_length", feedForwardLength),
                              ("attention.head_count", headCount), ("attention.head_count_kv", kvHeadCount),
                              ("context_length", contextLength), ("vocabulary size", vocabularySize),
                              ("head dimension", headDimension)] {
            try check(value > 0 && value <= Self.maximumDimension, "\(architecture).\(name) = \(value) is out of range")
        }
        try check(layerCount > 0 && layerCount <= Self.maximumLayers,
                  "\(architecture).block_count = \(layerCount) is out of range")
        try check(headCount % kvHeadCount == 0,
                  "head_count \(headCount) is not a multiple of head_count_kv \(kvHeadCount)")
        if case .rotary(_, let base) = positions {
            try check(headDimension % 2 == 0, "head dimension \(headDimension) is odd; RoPE rotates pairs")
            try check(base.isFinite && base > 0, "\(architecture).rope.freq_base must be positive")
        }
        if positions == .sinusoidal {
            try check(embeddingLength % 2 == 0, "embedding length \(embeddingLength) is odd; the sinusoidal table pairs sin and cos")
        }
        try check(normEpsilon.isFinite && normEpsilon >= 0, "the norm epsilon \(normEpsilon) must be finite and non-negative")
        if let window = slidingWindow {
            try check(window.length > 0 && window.length <= Self.maximumDimension,
                      "\(architecture).attention.sliding_window = \(window.length) is out of range")
            try check(window.period > 0, "the sliding-window layer period must be positive")
            try check(window.rotaryBase.isFinite && window.rotaryBase > 0, "the sliding-window RoPE base must be positive")
        }
        // Lengths that are the input of a matrix product must be whole Q8 blocks.
        for (name, value) in [("embedding_length", embeddingLength), ("feed_forward_length", feedForwardLength),
                              ("query length", queryLength)] {
            guard value % WeightFormat.valuesPerBlock == 0 else {
                throw SwiftletError.unsupported("\(name) \(value) is not a multiple of \(WeightFormat.valuesPerBlock)")
            }
        }
    }
}
