/// A norm's scale, and its shift for LayerNorm (nil for RMSNorm).
struct Norm {
    let weight: UnsafePointer<Float>
    var bias: UnsafePointer<Float>? = nil
}

/// y = W·x (+ b): a weight matrix and its optional bias.
struct Projection {
    let matrix: QuantizedMatrix
    let bias: UnsafePointer<Float>?

    /// Rows `range` of this projection as one of its own: a fused matrix
    /// (GPT-2's attn_qkv) is used as its parts, in place, without a copy.
    func rows(_ range: Range<Int>) -> Projection {
        let m = matrix
        return Projection(
            matrix: QuantizedMatrix(base: m.row(range.lowerBound), rows: range.count, columns: m.columns, format: m.format),
            bias: bias.map { $0 + range.lowerBound })
    }
}

/// The weights of one transformer block. `attentionNorm` and
/// `feedForwardNorm` are the branches' norms, before the branch or after the
/// residual add as the config's normPlacement says. The optional norms are
/// Gemma's: per-head RMSNorm of queries and keys (head-dimension weights
/// shared by the heads), and RMSNorm of each branch's output before its
/// residual add.
struct BlockWeights {
    let attentionNorm: Norm
    let query: Projection
    let key: Projection
    let value: Projection
    var queryNorm: Norm? = nil
    var keyNorm: Norm? = nil
    let attentionOutput: Projection
    var attentionOutputNorm: Norm? = nil
    let feedForwardNorm: Norm
    /// The gate of SwiGLU or GeGLU; nil for a plain GELU MLP.
    let gate: Projection?
    let up: Projection
    let down: Projection
    var feedForwardOutputNorm: Norm? = nil
}

/// Every weight of a model, as its architecture file found them. The
/// pointers stay valid while `storage` (the file mapping and arena buffers) lives.
struct TransformerWeights: @unchecked Sendable {
    let tokenEmbedding: QuantizedMatrix
    /// One row per position for learned absolute positions; nil otherwise.
    let positionEmbedding: QuantizedMatrix?
    /// BERT's token-type ("segment") embeddings; row 0 (sentence A) is added
    /// to every token. nil for models without them.
    var tokenTypeEmbedding: QuantizedMatrix? = nil
    /// The norm of the summed embeddings (post-LN encoders); nil otherwise.
    var embeddingNorm: Norm? = nil
    let blocks: [BlockWeights]
    /// The final norm before the head (pre-LN models); nil for post-LN encoders.
    let outputNorm: Norm?
    /// The output head; the token embedding itself when the file has no
    /// output.weight (tied); nil for an encoder, which produces hidden states only.
    let output: QuantizedMatrix?
    let storage: [AnyObject]

    /// The formats of the matrices the blocks and the head multiply with
    /// (the execution plan picks its product paths and activation shapes by them).
    var projectionFormats: Set<WeightFormat> {
        var formats: Set<WeightFormat> = output.map { [$0.format] } ?? []
        for block in blocks {
            for projection in [block.query, block.key, block.value, block.attentionOutput, block.up, block.down] {
                formats.insert(projection.matrix.format)
            }
            if let gate = block.gate { formats.insert(gate.matrix.format) }
        }
        return formats
    }
}
