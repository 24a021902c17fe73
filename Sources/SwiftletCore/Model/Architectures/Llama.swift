/// `llama` (SmolLM2, Llama 2/3, Mistral, ...): RMSNorm, RoPE on adjacent
/// pairs, grouped-query attention, SwiGLU, tied or separate output.
enum Llama: Architecture {
    static let name = "llama"

    static func config(_ metadata: ArchitectureMetadata, vocabularySize: Int) throws -> TransformerConfig {
        try ropeModelConfig(metadata, vocabularySize: vocabularySize, pairing: .adjacent)
    }

    static func weights(_ c: TransformerConfig, _ tensors: inout WeightLoader) throws -> TransformerWeights {
        try ropeModelWeights(c, &tensors)
    }

    /// The metadata of the RoPE + RMSNorm + SwiGLU family (llama, Qwen2, ...),
    /// with llama.cpp's defaults for the keys older files omit.
    static func ropeModelConfig(_ m: ArchitectureMetadata, vocabularySize: Int,
                                pairing: RotaryPairing) throws -> TransformerConfig {
        let embedding = try m.integer("embedding_length")
        let heads = try m.integer("attention.head_count")
        let headDimension = try m.integer("attention.key_length", default: heads > 0 ? embedding / heads : 0)
        let config = TransformerConfig(
            embeddingLength: embedding, layerCount: try m.integer("block_count"), headCount: heads,
            kvHeadCount: try m.integer("attention.head_count_kv", default: heads), headDimension: headDimension,
            feedForwardLength: try m.integer("feed_forward_length"), contextLength: try m.integer("context_length"),
            vocabularySize: vocabularySize, normalization: .rms,
            normEpsilon: try m.real("attention.layer_norm_rms_epsilon", default: 1e-5),
            positions: .rotary(pairing, base: try m.real("rope.freq_base", default: 10_000)), feedForward: .swiGLU)
        try config.validate(architecture: m.prefix)
        guard try m.integer("rope.dimension_count", default: headDimension) == headDimension,
              try m.integer("attention.value_length", default: headDimension) == headDimension else {
            throw SwiftletError.unsupported("partial RoPE or a value length other than the head dimension is not supported")
        }
        return config
    }

    /// The tensors of the family: attn_q/k/v (each with a bias when
    /// `attentionBiases`), attn_output, ffn_gate/up/down, RMSNorm weights;
    /// with `gemmaNorms` also attn_q_norm/attn_k_norm (per head) and
    /// post_attention_norm/post_ffw_norm (on each branch's output).
    static func ropeModelWeights(_ c: TransformerConfig, _ t: inout WeightLoader, attentionBiases: Bool = false,
                                 gemmaNorms: Bool = false) throws -> TransformerWeights {
        func projection(_ name: String, rows: Int, columns: Int, bias: Bool = false) throws -> Projection {
            try t.projection(name, rows: rows, columns: columns, bias: bias)
        }
        func norm(_ name: String, count: Int? = nil) throws -> Norm {
            try t.norm(name, count: count ?? c.embeddingLength, bias: false)
        }
        let embedding = try t.matrix("token_embd.weight", rows: c.vocabularySize, columns: c.embeddingLength)
        var blocks: [BlockWeights] = []
        for layer in 0..<c.layerCount {
            let p = "blk.\(layer)."
            var block = BlockWeights(
                attentionNorm: try norm(p + "attn_norm"),
                query: try projection(p + "attn_q", rows: c.queryLength, columns: c.embeddingLength, bias: attentionBiases),
                key: try projection(p + "attn_k", rows: c.kvLength, columns: c.embeddingLength, bias: attentionBiases),
                value: try projection(p + "attn_v", rows: c.kvLength, columns: c.embeddingLength, bias: attentionBiases),
                attentionOutput: try projection(p + "attn_output", rows: c.embeddingLength, columns: c.queryLength),
                feedForwardNorm: try norm(p + "ffn_norm"),
                gate: try projection(p + "ffn_gate", rows: c.feedForwardLength, columns: c.embeddingLength),
                up: try projection(p + "ffn_up", rows: c.feedForwardLength, columns: c.embeddingLength),
                down: try projection(p + "ffn_down", rows: c.embeddingLength, columns: c.feedForwardLength))
            if gemmaNorms {
                block.queryNorm = try norm(p + "attn_q_norm", count: c.headDimension)
                block.keyNorm = try norm(p + "attn_k_norm", count: c.headDimension)
                block.attentionOutputNorm = try norm(p + "post_attention_norm")
                block.feedForwardOutputNorm = try norm(p + "post_ffw_norm")
            }
            blocks.append(block)
        }
        let outputNorm = try norm("output_norm")
        return TransformerWeights(
            tokenEmbedding: embedding, positionEmbedding: nil, blocks: blocks, outputNorm: outputNorm,
            output: try t.output(tiedTo: embedding, rows: c.vocabularySize, columns: c.embeddingLength),
            storage: t.storage)
    }
}
