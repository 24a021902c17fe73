/// `gpt2`, as llama.cpp's converter writes it: learned absolute positions
/// (position_embd), LayerNorm with bias, one fused attn_qkv projection (Q, K
/// and V rows at 0, n_embd, 2·n_embd), a GELU MLP, biases on every
/// projection, output tied to the token embedding when output.weight is absent.
///
/// Swiftlet's own key `gpt2.position_encoding = "sinusoidal"` (and no
/// position_embd tensor) selects the original Transformer's sinusoidal
/// positions instead, for GPT-2-style models trained with them.
enum GPT2: Architecture {
    static let name = "gpt2"

    static func config(_ m: ArchitectureMetadata, vocabularySize: Int) throws -> TransformerConfig {
        let embedding = try m.integer("embedding_length")
        let heads = try m.integer("attention.head_count")
        let positions: TransformerConfig.PositionEncoding
        switch try m.string("position_encoding") {
        case nil, "learned": positions = .learned
        case "sinusoidal": positions = .sinusoidal
        case let other?: throw SwiftletError.unsupported("gpt2.position_encoding '\(other)' (supported: learned, sinusoidal)")
        }
        let config = TransformerConfig(
            embeddingLength: embedding, layerCount: try m.integer("block_count"), headCount: heads,
            kvHeadCount: heads, headDimension: heads > 0 ? embedding / heads : 0,
            feedForwardLength: try m.integer("feed_forward_length"), contextLength: try m.integer("context_length"),
            vocabularySize: vocabularySize, normalization: .layer,
            normEpsilon: try m.real("attention.layer_norm_epsilon", default: 1e-5), positions: positions,
            feedForward: .gelu)
        try config.validate(architecture: m.prefix)
        guard config.headDimension * heads == embedding else {
            throw SwiftletError.invalidFile("gpt2.embedding_length \(embedding) is not a multiple of head_count \(heads)")
        }
        return config
    }

    static func weights(_ c: TransformerConfig, _ t: inout WeightLoader) throws -> TransformerWeights {
        let e = c.embeddingLength
        // Biases on every projection, LayerNorms with a shift.
        func projection(_ name: String, rows: Int, columns: Int) throws -> Projection {
            try t.projection(name, rows: rows, columns: columns, bias: true)
        }
        func norm(_ name: String) throws -> Norm { try t.norm(name, count: e, bias: true) }
        let embedding = try t.matrix("token_embd.weight", rows: c.vocabularySize, columns: e)
        let positions = c.positions == .learned
            ? try t.matrix("position_embd.weight", rows: c.contextLength, columns: e) : nil
        var blocks: [BlockWeights] = []
        for layer in 0..<c.layerCount {
            let p = "blk.\(layer)."
            let qkv = try projection(p + "attn_qkv", rows: 3 * e, columns: e)
            blocks.append(BlockWeights(
                attentionNorm: try norm(p + "attn_norm"),
                query: qkv.rows(0..<e), key: qkv.rows(e..<2 * e), value: qkv.rows(2 * e..<3 * e),
                attentionOutput: try projection(p + "attn_output", rows: e, columns: e),
                feedForwardNorm: try norm(p + "ffn_norm"),
                gate: nil,
                up: try projection(p + "ffn_up", rows: c.feedForwardLength, columns: e),
                down: try projection(p + "ffn_down", rows: e, columns: c.feedForwardLength)))
        }
        let outputNorm = try norm("output_norm")
        return TransformerWeights(
            tokenEmbedding: embedding, positionEmbedding: positions, blocks: blocks, outputNorm: outputNorm,
            output: try t.output(tiedTo: embedding, rows: c.vocabularySize, columns: e), storage: t.storage)
    }
}
