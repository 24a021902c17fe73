/// The weights of one transformer block of a `llama` model.
struct LlamaBlockWeights {
    let attentionNorm: UnsafePointer<Float>
    let query: QuantizedMatrix
    let key: QuantizedMatrix
    let value: QuantizedMatrix
    let attentionOutput: QuantizedMatrix
    let feedForwardNorm: UnsafePointer<Float>
    let gate: QuantizedMatrix
    let up: QuantizedMatrix
    let down: QuantizedMatrix
}

/// Every weight of a `llama` model, named as llama.cpp's GGUF files name them.
/// The pointers stay valid while `storage` (the file mapping and arena buffers) lives.
struct LlamaWeights: @unchecked Sendable {
    let tokenEmbedding: QuantizedMatrix
    let blocks: [LlamaBlockWeights]
    let outputNorm: UnsafePointer<Float>
    /// The output head; the token embedding itself when the file has no output.weight (tied).
    let output: QuantizedMatrix
    let isOutputTied: Bool
    let storage: [AnyObject]

    init(config c: LlamaConfig, file: GGUFFile, arena: Arena, pool: WorkerPool,
         progress: LoadProgress = LoadProgress(), progressRange: ClosedRange<Double> = 0...1) throws {
        var loader = WeightLoader(file: file, arena: arena, pool: pool, progress: progress, progressRange: progressRange)
        tokenEmbedding = try loader.matrix("token_embd.weight", rows: c.vocabularySize, columns: c.embeddingLength)
        var blocks: [LlamaBlockWeights] = []
        for layer in 0..<c.layerCount {
            let p = "blk.\(layer)."
            blocks.append(LlamaBlockWeights(
                attentionNorm: try loader.vector(p + "attn_norm.weight", count: c.embeddingLength),
                query: try loader.matrix(p + "attn_q.weight", rows: c.queryLength, columns: c.embeddingLength),
                key: try loader.matrix(p + "attn_k.weight", rows: c.kvLength, columns: c.embeddingLength),
                value: try loader.matrix(p + "attn_v.weight", rows: c.kvLength, columns: c.embeddingLength),
                attentionOutput: try loader.matrix(p + "attn_output.weight", rows: c.embeddingLength, columns: c.queryLength),
                feedForwardNorm: try loader.vector(p + "ffn_norm.weight", count: c.embeddingLength),
                gate: try loader.matrix(p + "ffn_gate.weight", rows: c.feedForwardLength, columns: c.embeddingLength),
                up: try loader.matrix(p + "ffn_up.weight", rows: c.feedForwardLength, columns: c.embeddingLength),
                down: try loader.matrix(p + "ffn_down.weight", rows: c.embeddingLength, columns: c.feedForwardLength)))
        }
        self.blocks = blocks
        outputNorm = try loader.vector("output_norm.weight", count: c.embeddingLength)
        isOutputTied = !loader.has("output.weight")
        output = isOutputTied
            ? tokenEmbedding
            : try loader.matrix("output.weight", rows: c.vocabularySize, columns: c.embeddingLength)
        storage = loader.ownedBuffers + [file]
    }
}
