/// `bert`, a BERT-style sentence encoder as llama.cpp's converter writes it
/// (convert_hf_to_gguf.py, BertModel; HuggingFaceFolder presents a Hugging
/// Face folder the same way): word + learned position + token-type
/// embeddings (token_embd, position_embd, token_types), LayerNorm of their sum
/// (token_embd_norm), post-LN blocks with biases everywhere — attn_q/k/v,
/// attn_output, then LayerNorm of x + attention (attn_output_norm); ffn_up,
/// GELU, ffn_down, then LayerNorm of h + MLP (layer_output_norm) — and
/// bidirectional attention. No output head: its output is the hidden states,
/// pooled into one embedding per sequence as `bert.pooling_type` says.
///
/// GELU is the exact erf form: that is what `hidden_act: gelu` means in
/// Hugging Face, which trained these weights (llama.cpp uses its tanh form).
enum Bert: Architecture {
    static let name = "bert"

    static func config(_ m: ArchitectureMetadata, vocabularySize: Int) throws -> TransformerConfig {
        let embedding = try m.integer("embedding_length")
        let heads = try m.integer("attention.head_count")
        var config = TransformerConfig(
            embeddingLength: embedding, layerCount: try m.integer("block_count"), headCount: heads,
            kvHeadCount: try m.integer("attention.head_count_kv", default: heads),
            headDimension: heads > 0 ? embedding / heads : 0,
            feedForwardLength: try m.integer("feed_forward_length"), contextLength: try m.integer("context_length"),
            vocabularySize: vocabularySize, normalization: .layer,
            normEpsilon: try m.real("attention.layer_norm_epsilon", default: 1e-12), positions: .learned,
            feedForward: .geluErf)
        config.normPlacement = .afterResidual
        config.isCausal = false
        if let causal = m.file.metadata("\(m.prefix).attention.causal") {
            guard causal.asBool == false else {
                throw SwiftletError.unsupported("bert.attention.causal = \(causal): a causal BERT is not supported")
            }
        }
        config.pooling = try pooling(m.integer("pooling_type", default: Self.meanPooling))
        guard heads <= 0 || config.headDimension * heads == embedding else {  // validate names a bad head count
            throw SwiftletError.invalidFile("bert.embedding_length \(embedding) is not a multiple of head_count \(heads)")
        }
        try config.validate(architecture: m.prefix)
        return config
    }

    /// llama.cpp's pooling_type values (enum llama_pooling_type).
    static let noPooling = 0, meanPooling = 1, clsPooling = 2, lastPooling = 3

    /// `pooling_type` as a Pooling; none (per-token outputs) and rank (a
    /// reranker's classifier head) are not sentence embeddings.
    static func pooling(_ type: Int) throws -> TransformerConfig.Pooling {
        switch type {
        case meanPooling: return .mean
        case clsPooling: return .first
        case lastPooling: return .last
        default: throw SwiftletError.unsupported("bert.pooling_type \(type) is not supported (1 mean, 2 cls, 3 last)")
        }
    }

    static func weights(_ c: TransformerConfig, _ t: inout WeightLoader) throws -> TransformerWeights {
        let e = c.embeddingLength
        // Biases on every projection, LayerNorms with a shift.
        func projection(_ name: String, rows: Int, columns: Int) throws -> Projection {
            try t.projection(name, rows: rows, columns: columns, bias: true)
        }
        func norm(_ name: String) throws -> Norm { try t.norm(name, count: e, bias: true) }
        let embedding = try t.matrix("token_embd.weight", rows: c.vocabularySize, columns: e)
        let positions = try t.matrix("position_embd.weight", rows: c.contextLength, columns: e)
        let types = try t.matrix("token_types.weight", rows: try t.rowCount(of: "token_types.weight", columns: e), columns: e)
        let embeddingNorm = try norm("token_embd_norm")
        let blocks = try (0..<c.layerCount).map { layer in
            let p = "blk.\(layer)."
            return BlockWeights(
                attentionNorm: try norm(p + "attn_output_norm"),
                query: try projection(p + "attn_q", rows: c.queryLength, columns: e),
                key: try projection(p + "attn_k", rows: c.kvLength, columns: e),
                value: try projection(p + "attn_v", rows: c.kvLength, columns: e),
                attentionOutput: try projection(p + "attn_output", rows: e, columns: c.queryLength),
                feedForwardNorm: try norm(p + "layer_output_norm"),
                gate: nil,
                up: try projection(p + "ffn_up", rows: c.feedForwardLength, columns: e),
                down: try projection(p + "ffn_down", rows: e, columns: c.feedForwardLength))
        }
        return TransformerWeights(tokenEmbedding: embedding, positionEmbedding: positions, tokenTypeEmbedding: types,
                                  embeddingNorm: embeddingNorm, blocks: blocks, outputNorm: nil, output: nil,
                                  storage: t.storage)
    }
}
