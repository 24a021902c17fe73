import Glibc

/// Which logits a forward pass produces.
enum LogitsRequest {
    /// The last token's, into `n_vocab` floats.
    case lastToken(UnsafeMutablePointer<Float>)
    /// Every token's, into `tokens × n_vocab` floats, row-major.
    case everyToken(UnsafeMutablePointer<Float>)
}

/// The `llama` forward pass. It reads top to bottom like the equations:
/// embed; per block h = x + attention(norm(x)), x = h + ffn(norm(h)); norm; head.
/// Every matrix product is int8 (Q8MatrixProduct); norms, RoPE, softmax and
/// attention are fp32.
struct LlamaTransformer: Sendable {
    let config: LlamaConfig
    let weights: LlamaWeights
    /// base^(-2i/d) for each rotated pair i: RoPE's per-pair frequencies.
    private let inverseFrequencies: [Double]

    init(config: LlamaConfig, weights: LlamaWeights) {
        self.config = config
        self.weights = weights
        let d = Double(config.headDimension)
        let base = Double(config.ropeFrequencyBase)
        inverseFrequencies = (0..<config.headDimension / 2).map { pow(base, -2 * Double($0) / d) }
    }

    /// Evaluates `tokens` (already validated) at positions startPosition...,
    /// writing their keys and values into `cache`. `isCancelled` is asked once per block.
    func forward(tokens: UnsafeBufferPointer<Int32>, startPosition: Int, cache: KVCache, scratch s: ForwardScratch,
                 pool: WorkerPool, logits: LogitsRequest, isCancelled: () -> Bool) throws {
        let c = config
        let count = tokens.count
        precondition(count <= s.batchCapacity && startPosition + count <= cache.capacity)

        for (t, token) in tokens.enumerated() {
            weights.tokenEmbedding.dequantizeRow(Int(token), into: s.hidden + t * c.embeddingLength)
        }
        fillRotation(s.rotation, startPosition: startPosition, count: count)

        for (layer, block) in weights.blocks.enumerated() {
            if isCancelled() { throw SwiftletError(.cancelled, "evaluation was cancelled") }
            // Attention: h = x + Wo · attend(rope(Wq·n), rope(Wk·n), Wv·n), n = norm(x).
            normalize(s.hidden, weight: block.attentionNorm, into: s.normed, count: count)
            let normedQ = quantize(s.normed, columns: c.embeddingLength, count: count, scratch: s)
            multiply(block.query, normedQ, count, into: s.query, pool: pool)
            multiply(block.key, normedQ, count, into: s.key, pool: pool)
            multiply(block.value, normedQ, count, into: s.value, pool: pool)
            for t in 0..<count {
                let rotation = UnsafePointer(s.rotation + t * c.headDimension)
                applyRotary(s.query + t * c.queryLength, heads: c.headCount, headDimension: c.headDimension, rotation: rotation)
                applyRotary(s.key + t * c.kvLength, heads: c.kvHeadCount, headDimension: c.headDimension, rotation: rotation)
            }
            let keys = cache.keys(layer: layer), values = cache.values(layer: layer)
            (keys + startPosition * c.kvLength).update(from: s.key, count: count * c.kvLength)
            (values + startPosition * c.kvLength).update(from: s.value, count: count * c.kvLength)
            attend(keys: keys, values: values, startPosition: startPosition, count: count, scratch: s, pool: pool)
            let attentionQ = quantize(s.attention, columns: c.queryLength, count: count, scratch: s)
            multiply(block.attentionOutput, attentionQ, count, into: s.projected, pool: pool)
            addResidual(s.projected, into: s.hidden, count: count * c.embeddingLength)

            // Feed-forward: x = h + Wdown · (silu(Wgate·n) ⊙ Wup·n), n = norm(h).
            normalize(s.hidden, weight: block.feedForwardNorm, into: s.normed, count: count)
            let ffnQ = quantize(s.normed, columns: c.embeddingLength, count: count, scratch: s)
            multiply(block.gate, ffnQ, count, into: s.gate, pool: pool)
            multiply(block.up, ffnQ, count, into: s.up, pool: pool)
            swiGLU(s.gate, s.up, count: count * c.feedForwardLength)
            let hiddenQ = quantize(s.gate, columns: c.feedForwardLength, count: count, scratch: s)
            multiply(block.down, hiddenQ, count, into: s.projected, pool: pool)
            addResidual(s.projected, into: s.hidden, count: count * c.embeddingLength)
        }

        // Head: logits = Wout · norm(x), for the tokens asked for.
        switch logits {
        case .lastToken(let out):
            let last = s.hidden + (count - 1) * c.embeddingLength
            rmsNorm(last, weight: weights.outputNorm, epsilon: c.rmsNormEpsilon, into: s.normed, count: c.embeddingLength)
            let finalQ = quantize(s.normed, columns: c.embeddingLength, count: 1, scratch: s)
            multiply(weights.output, finalQ, 1, into: out, pool: pool)
        case .everyToken(let out):
            normalize(s.hidden, weight: weights.outputNorm, into: s.normed, count: count)
            let finalQ = quantize(s.normed, columns: c.embeddingLength, count: count, scratch: s)
            multiply(weights.output, finalQ, count, into: out, pool: pool)
        }
    }

    // MARK: - The steps

    private func normalize(_ x: UnsafePointer<Float>, weight: UnsafePointer<Float>,
                           into out: UnsafeMutablePointer<Float>, count: Int) {
        let n = config.embeddingLength
        for t in 0..<count {
            rmsNorm(x + t * n, weight: weight, epsilon: config.rmsNormEpsilon, into: out + t * n, count: n)
        }
    }

    private func quantize(_ x: UnsafePointer<Float>, columns: Int, count: Int,
                          scratch: ForwardScratch) -> QuantizedActivations {
        let q = scratch.quantizedActivations(columns: columns)
        q.quantize(x, inputStride: columns, tokens: count)
        return q
    }

    /// out[t, r] = matrix row r · input token t, rows split across the workers.
    private func multiply(_ matrix: QuantizedMatrix, _ input: QuantizedActivations, _ count: Int,
                          into out: UnsafeMutablePointer<Float>, pool: WorkerPool) {
        pool.parallelFor(matrix.rows) { rows in
            Q8MatrixProduct.multiply(matrix, rows: rows, by: input, tokens: count, into: out, outputStride: matrix.rows)
        }
    }

    private func addResidual(_ delta: UnsafePointer<Float>, into x: UnsafeMutablePointer<Float>, count: Int) {
        for i in 0..<count { x[i] += delta[i] }
    }

    /// cos/sin of position × frequency for each token's position and each pair.
    private func fillRotation(_ rotation: UnsafeMutablePointer<Float>, startPosition: Int, count: Int) {
        let d = config.headDimension
        for t in 0..<count {
            let position = Double(startPosition + t)
            for (i, frequency) in inverseFrequencies.enumerated() {
                let angle = position * frequency
                rotation[t * d + 2 * i] = Float(cos(angle))
                rotation[t * d + 2 * i + 1] = Float(sin(angle))
            }
        }
    }

    /// Causal grouped-query attention for every (token, head) pair of the batch.
    /// Token t sees positions 0...startPosition + t. Pairs are dealt round-robin
    /// so every worker gets a share of the long rows at the end of the batch.
    private func attend(keys: UnsafePointer<Float>, values: UnsafePointer<Float>, startPosition: Int, count: Int,
                        scratch s: ForwardScratch, pool: WorkerPool) {
        let c = config
        let d = c.headDimension
        let scale = 1 / Float(d).squareRoot()
        let pairs = count * c.headCount
        pool.run { worker in
            let scores = s.scores + worker * s.scoresStride
            var pair = worker
            while pair < pairs {
                let t = pair / c.headCount, head = pair % c.headCount
                let kvOffset = (head / c.headsPerKVHead) * d
                let visible = startPosition + t + 1
                let query = s.query + t * c.queryLength + head * d
                for j in 0..<visible { scores[j] = dot(query, keys + j * c.kvLength + kvOffset, d) * scale }
                softmax(scores, count: visible)
                let out = s.attention + t * c.queryLength + head * d
                out.initialize(repeating: 0, count: d)
                for j in 0..<visible { addScaled(out, scores[j], values + j * c.kvLength + kvOffset, d) }
                pair += pool.threadCount
            }
        }
    }
}
