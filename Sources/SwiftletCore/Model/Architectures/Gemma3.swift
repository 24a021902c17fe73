/// `gemma3` (Gemma 3), as llama.cpp reads it: the llama block with the
/// embedding scaled by √n_embd, RMSNorm of each head's query and key
/// (attn_q_norm, attn_k_norm), RMSNorm of each branch's output before the
/// residual add (post_attention_norm, post_ffw_norm), GeGLU, RoPE on NEOX
/// pairs, a head dimension of its own (attention.key_length), and
/// sliding-window attention: five layers of every six attend to the last
/// `attention.sliding_window` positions with RoPE base 10,000, every sixth
/// to everything with `rope.freq_base`. (The converter already stored Gemma's
/// norm weights as 1 + w, so they are used as they are.)
enum Gemma3: Architecture {
    static let name = "gemma3"
    /// llama.cpp's fixed values for Gemma 3 (not in the file).
    static let layerPeriod = 6
    static let windowRotaryBase: Float = 10_000

    static func config(_ m: ArchitectureMetadata, vocabularySize: Int) throws -> TransformerConfig {
        var config = try Llama.ropeModelConfig(m, vocabularySize: vocabularySize, pairing: .halves)
        config.feedForward = .geGLU
        config.embeddingScale = Float(config.embeddingLength).squareRoot()
        config.slidingWindow = TransformerConfig.SlidingWindow(
            length: try m.integer("attention.sliding_window"), period: layerPeriod, rotaryBase: windowRotaryBase)
        // llama.cpp (after gemma_pytorch): the 27B model, known by its 62 layers,
        // scales queries by 1/√(n_embd / n_head) instead of 1/√head_dim.
        if config.layerCount == 62 && config.headCount > 0 {
            config.queryScale = 1 / Float(config.embeddingLength / config.headCount).squareRoot()
        }
        // Settings of other Gemma 3 files that this forward pass does not apply: refused, never ignored.
        if let scaling = try m.string("rope.scaling.type"), scaling != "none" {
            throw SwiftletError.unsupported("gemma3.rope.scaling.type '\(scaling)' is not supported")
        }
        if m.file.metadata("\(m.prefix).final_logit_softcapping") != nil {
            throw SwiftletError.unsupported("gemma3.final_logit_softcapping is not supported")
        }
        try config.validate(architecture: m.prefix)
        return config
    }

    static func weights(_ c: TransformerConfig, _ tensors: inout WeightLoader) throws -> TransformerWeights {
        try Llama.ropeModelWeights(c, &tensors, gemmaNorms: true)
    }
}
