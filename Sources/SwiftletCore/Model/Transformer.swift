import CSwiftletSupport
import Glibc

/// Which logits a forward pass produces.
enum LogitsRequest {
    /// The last token's, into `n_vocab` floats.
    case lastToken(UnsafeMutablePointer<Float>)
    /// Every token's, into `tokens × n_vocab` floats, row-major.
    case everyToken(UnsafeMutablePointer<Float>)
}

/// The decoder forward pass of every architecture (pre-norm blocks). It reads
/// top to bottom like the equations: embed (+ positions); per block
/// h = x + attention(norm(x)), x = h + ffn(norm(h)); norm; head. What differs
/// between architectures is in the config (norm, positions, biases, MLP),
/// never in a branch on an architecture's name.
/// Small batches multiply int8 blocks row by row (QuantizedMatrixProduct);
/// large ones take the packed int8 kernel on AVX-512 VNNI CPUs
/// (PackedMatrixProduct), else fp32 sgemm on the same rounded activations
/// (DequantizedMatrixProduct). Norms, RoPE, softmax and attention are fp32.
struct Transformer: Sendable {
    let config: TransformerConfig
    let weights: TransformerWeights
    /// base^(-2i/d) for each rotated pair i: RoPE's per-pair frequencies (empty without RoPE).
    private let inverseFrequencies: [Double]

    init(config: TransformerConfig, weights: TransformerWeights) {
        self.config = config
        self.weights = weights
        if case .rotary(_, let base) = config.positions {
            let d = Double(config.headDimension)
            inverseFrequencies = (0..<config.headDimension / 2).map { pow(Double(base), -2 * Double($0) / d) }
        } else {
            inverseFrequencies = []
        }
    }

    /// Evaluates `tokens` (already validated) at positions startPosition...,
    /// writing their keys and values into `cache`. `isCancelled` is asked once per block.
    func forward(tokens: UnsafeBufferPointer<Int32>, startPosition: Int, cache: KVCache, scratch s: ForwardScratch,
                 pool: WorkerPool, logits: LogitsRequest, isCancelled: () -> Bool) throws {
        let c = config
        let count = tokens.count
        precondition(count <= s.batchCapacity && startPosition + count <= cache.capacity)

        embed(tokens, startPosition: startPosition, into: s)
        fillRotation(s.rotation, startPosition: startPosition, count: count)

        for (layer, block) in weights.blocks.enumerated() {
            if isCancelled() { throw SwiftletError(.cancelled, "evaluation was cancelled") }
            // Attention: h = x + Wo · attend(rope(Wq·n + bq), rope(Wk·n + bk), Wv·n + bv) + bo, n = norm(x).
            normalize(s.hidden, block.attentionNorm, into: s.normed, count: count)
            let normed = prepare(s.normed, columns: c.embeddingLength, count: count, scratch: s, pool: pool)
            multiply(block.query.matrix, into: s.query, block.key.matrix, into: s.key, block.value.matrix, into: s.value,
                     normed, count, scratch: s, pool: pool)
            addBias(block.query, to: s.query, count: count)
            addBias(block.key, to: s.key, count: count)
            addBias(block.value, to: s.value, count: count)
            if case .rotary(let pairing, _) = c.positions {
                for t in 0..<count {
                    let rotation = UnsafePointer(s.rotation + t * c.headDimension)
                    applyRotary(s.query + t * c.queryLength, heads: c.headCount, headDimension: c.headDimension,
                                rotation: rotation, pairing: pairing)
                    applyRotary(s.key + t * c.kvLength, heads: c.kvHeadCount, headDimension: c.headDimension,
                                rotation: rotation, pairing: pairing)
                }
            }
            cache.store(keys: s.key, values: s.value, layer: layer, startPosition: startPosition, count: count)
            attend(cache: cache, layer: layer, startPosition: startPosition, count: count, scratch: s, pool: pool)
            let attention = prepare(s.attention, columns: c.queryLength, count: count, scratch: s, pool: pool)
            multiply(block.attentionOutput.matrix, attention, count, into: s.projected, scratch: s, pool: pool)
            addBias(block.attentionOutput, to: s.projected, count: count)
            addResidual(s.projected, into: s.hidden, count: count * c.embeddingLength)

            // Feed-forward: x = h + Wdown · act(n) + bdown, n = norm(h), act(n) =
            // silu(Wgate·n) ⊙ Wup·n (SwiGLU) or gelu(Wup·n + bup) (GELU MLP).
            normalize(s.hidden, block.feedForwardNorm, into: s.normed, count: count)
            let ffnInput = prepare(s.normed, columns: c.embeddingLength, count: count, scratch: s, pool: pool)
            switch c.feedForward {
            case .swiGLU: gatedFeedForward(block, ffnInput, count, scratch: s, pool: pool)
            case .gelu: geluFeedForward(block.up, ffnInput, count, scratch: s, pool: pool)
            }
            let activated = prepare(s.gate, columns: c.feedForwardLength, count: count, scratch: s, pool: pool)
            multiply(block.down.matrix, activated, count, into: s.projected, scratch: s, pool: pool)
            addBias(block.down, to: s.projected, count: count)
            addResidual(s.projected, into: s.hidden, count: count * c.embeddingLength)
        }

        // Head: logits = Wout · norm(x), for the tokens asked for. Always int8:
        // dequantizing the whole vocabulary matrix would not pay for itself.
        switch logits {
        case .lastToken(let out):
            normalize(s.hidden + (count - 1) * c.embeddingLength, weights.outputNorm, into: s.normed, count: 1)
            let final = ProjectionInput.quantized(
                quantize(s.normed, columns: c.embeddingLength, count: 1, scratch: s, pool: pool))
            multiply(weights.output, final, 1, into: out, scratch: s, pool: pool)
        case .everyToken(let out):
            normalize(s.hidden, weights.outputNorm, into: s.normed, count: count)
            let final = ProjectionInput.quantized(
                quantize(s.normed, columns: c.embeddingLength, count: count, scratch: s, pool: pool))
            multiply(weights.output, final, count, into: out, scratch: s, pool: pool)
        }
    }

    // MARK: - The steps

    /// x = E[token] (+ P[position] for learned or sinusoidal positions), per token.
    private func embed(_ tokens: UnsafeBufferPointer<Int32>, startPosition: Int, into s: ForwardScratch) {
        let n = config.embeddingLength
        for (t, token) in tokens.enumerated() {
            let x = s.hidden + t * n
            weights.tokenEmbedding.dequantizeRow(Int(token), into: x)
            switch config.positions {
            case .rotary: break  // positions enter through the rotation of q and k
            case .learned:
                weights.positionEmbedding!.dequantizeRow(startPosition + t, into: s.normed)
                addResidual(s.normed, into: x, count: n)
            case .sinusoidal:
                let position = Double(startPosition + t)
                for i in stride(from: 0, to: n, by: 2) {
                    let angle = position / pow(10_000, Double(i) / Double(n))
                    x[i] += Float(sin(angle))
                    x[i + 1] += Float(cos(angle))
                }
            }
        }
    }

    private func normalize(_ x: UnsafePointer<Float>, _ norm: Norm, into out: UnsafeMutablePointer<Float>, count: Int) {
        let n = config.embeddingLength, epsilon = config.normEpsilon
        for t in 0..<count {
            switch config.normalization {
            case .rms: rmsNorm(x + t * n, weight: norm.weight, epsilon: epsilon, into: out + t * n, count: n)
            case .layer: layerNorm(x + t * n, weight: norm.weight, bias: norm.bias, epsilon: epsilon, into: out + t * n, count: n)
            }
        }
    }

    /// Adds a projection's bias (if it has one) to each of `count` output rows.
    private func addBias(_ projection: Projection, to out: UnsafeMutablePointer<Float>, count: Int) {
        guard let bias = projection.bias else { return }
        SwiftletCore.addBias(bias, to: out, rows: count, columns: projection.matrix.rows)
    }

    /// Quantizes `count` rows; with `dense`, also writes the rounded values
    /// back as floats there. Large batches are split across the workers.
    private func quantize(_ x: UnsafePointer<Float>, columns: Int, count: Int, scratch: ForwardScratch,
                          pool: WorkerPool, dense: UnsafeMutablePointer<Float>? = nil) -> QuantizedActivations {
        let q = scratch.quantizedActivations(columns: columns)
        let work = { (tokens: Range<Int>) in
            q.quantize(x, inputStride: columns, tokens: tokens)
            if let dense { q.dequantize(into: dense, tokens: tokens) }
        }
        if count >= DequantizedMatrixProduct.minimumTokens { pool.parallelFor(count, work) } else { work(0..<count) }
        return q
    }

    /// A projection's input as the chosen kernel wants it: int8 blocks for the
    /// int8 kernel, or for the sgemm path (large batches) those same int8
    /// values turned back into floats. Both paths thus multiply the same
    /// rounded activations, so a batch gives the logits its tokens give one by
    /// one (up to summation order), as llama.cpp's int8 paths do too: with
    /// unrounded activations the batched logits drifted from llama.cpp's by
    /// up to ~0.4 at some positions of the agreement test.
    private enum ProjectionInput {
        case dense(UnsafePointer<Float>)
        case quantized(QuantizedActivations)
        case packed(PackedActivations)
    }

    /// Batches of PackedMatrixProduct.minimumTokens or more take the VNNI
    /// kernel where the CPU has it (the same int8 values, rearranged); without
    /// it, batches of DequantizedMatrixProduct.minimumTokens or more take
    /// sgemm on the rounded values as floats.
    private func prepare(_ x: UnsafePointer<Float>, columns: Int, count: Int, scratch: ForwardScratch,
                         pool: WorkerPool) -> ProjectionInput {
        if count >= PackedMatrixProduct.minimumTokens, let packed = scratch.packedActivations(columns: columns, tokens: count) {
            let q = quantize(x, columns: columns, count: count, scratch: scratch, pool: pool)
            pool.parallelFor(packed.groupCount) { groups in packed.pack(q, groups: groups) }
            return .packed(packed)
        }
        guard count >= DequantizedMatrixProduct.minimumTokens, let dense = scratch.roundedActivations else {
            return .quantized(quantize(x, columns: columns, count: count, scratch: scratch, pool: pool))
        }
        _ = quantize(x, columns: columns, count: count, scratch: scratch, pool: pool, dense: dense)
        return .dense(dense)
    }

    /// out[t, r] = matrix row r · input token t, rows split across the workers.
    private func multiply(_ matrix: QuantizedMatrix, _ input: ProjectionInput, _ count: Int,
                          into out: UnsafeMutablePointer<Float>, scratch: ForwardScratch, pool: WorkerPool) {
        switch input {
        case .quantized(let q):
            pool.parallelFor(matrix.rows) { rows in
                QuantizedMatrixProduct.multiply(matrix, rows: rows, by: q, tokens: count, into: out, outputStride: matrix.rows)
            }
        case .packed(let packed):
            let tiles = scratch.tiles!
            pool.parallelFor(matrix.rows) { rows, worker in
                PackedMatrixProduct.multiply(matrix, rows: rows, by: packed, scratch: tiles + worker * scratch.tileStride,
                                             output: out, outputStride: matrix.rows)
            }
        case .dense(let x):
            let dequantized = scratch.dequantized!
            pool.parallelFor(matrix.rows) { rows, worker in
                DequantizedMatrixProduct.multiply(matrix, rows: rows, input: x, tokens: count,
                                                  scratch: dequantized + worker * scratch.dequantizedStride,
                                                  output: out, outputStride: matrix.rows)
            }
        }
    }

    private func addResidual(_ delta: UnsafePointer<Float>, into x: UnsafeMutablePointer<Float>, count: Int) {
        for i in 0..<count { x[i] += delta[i] }
    }

    /// The query, key and value projections, which read the same input. On
    /// the int8 path they run as one parallel job over all their rows: one
    /// wake-up of the workers instead of three (generation is latency-bound).
    private func multiply(_ first: QuantizedMatrix, into firstOut: UnsafeMutablePointer<Float>,
                          _ second: QuantizedMatrix, into secondOut: UnsafeMutablePointer<Float>,
                          _ third: QuantizedMatrix, into thirdOut: UnsafeMutablePointer<Float>,
                          _ input: ProjectionInput, _ count: Int, scratch: ForwardScratch, pool: WorkerPool) {
        guard case .quantized(let q) = input else {
            multiply(first, input, count, into: firstOut, scratch: scratch, pool: pool)
            multiply(second, input, count, into: secondOut, scratch: scratch, pool: pool)
            multiply(third, input, count, into: thirdOut, scratch: scratch, pool: pool)
            return
        }
        let firstEnd = first.rows, secondEnd = firstEnd + second.rows
        pool.parallelFor(secondEnd + third.rows) { rows in
            // The part of `rows` that falls in each matrix, in that matrix's own row numbers.
            func run(_ matrix: QuantizedMatrix, _ out: UnsafeMutablePointer<Float>, _ offset: Int) {
                let lower = max(rows.lowerBound - offset, 0), upper = min(rows.upperBound - offset, matrix.rows)
                if lower < upper {
                    QuantizedMatrixProduct.multiply(matrix, rows: lower..<upper, by: q, tokens: count, into: out,
                                             outputStride: matrix.rows)
                }
            }
            run(first, firstOut, 0)
            run(second, secondOut, firstEnd)
            run(third, thirdOut, secondEnd)
        }
    }

    /// gate = silu(Wgate·x) ⊙ Wup·x into scratch.gate. On the int8 path each
    /// worker computes the same rows of both products and applies SwiGLU to
    /// them: one parallel job instead of two plus a serial pass.
    private func gatedFeedForward(_ block: BlockWeights, _ input: ProjectionInput, _ count: Int,
                                  scratch s: ForwardScratch, pool: WorkerPool) {
        let n = config.feedForwardLength
        let gate = block.gate!.matrix, up = block.up.matrix  // SwiGLU blocks always have a gate
        guard case .quantized(let q) = input else {
            multiply(gate, input, count, into: s.gate, scratch: s, pool: pool)
            multiply(up, input, count, into: s.up, scratch: s, pool: pool)
            pool.parallelFor(count) { tokens in
                swiGLU(s.gate + tokens.lowerBound * n, s.up + tokens.lowerBound * n, count: tokens.count * n)
            }
            return
        }
        pool.parallelFor(n) { rows in
            QuantizedMatrixProduct.multiply(gate, rows: rows, by: q, tokens: count, into: s.gate, outputStride: n)
            QuantizedMatrixProduct.multiply(up, rows: rows, by: q, tokens: count, into: s.up, outputStride: n)
            for t in 0..<count {
                swiGLU(s.gate + t * n + rows.lowerBound, s.up + t * n + rows.lowerBound, count: rows.count)
            }
        }
    }

    /// gate = gelu(Wup·x + bup) into scratch.gate: GPT-2's MLP activation.
    private func geluFeedForward(_ up: Projection, _ input: ProjectionInput, _ count: Int,
                                 scratch s: ForwardScratch, pool: WorkerPool) {
        let n = config.feedForwardLength
        multiply(up.matrix, input, count, into: s.gate, scratch: s, pool: pool)
        addBias(up, to: s.gate, count: count)
        pool.parallelFor(count) { tokens in gelu(s.gate + tokens.lowerBound * n, count: tokens.count * n) }
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

    /// Causal grouped-query attention. Large batches run each head as two
    /// sgemm calls (scores = Q·Kᵀ, then out = softmax(scores)·V); small ones
    /// (generation) take the per-token loop below.
    private func attend(cache: KVCache, layer: Int, startPosition: Int, count: Int,
                        scratch s: ForwardScratch, pool: WorkerPool) {
        if count >= DequantizedMatrixProduct.minimumTokens, let batchScores = s.batchScores,
           let expanded = s.expandedKV {
            attendAsMatrices(cache: cache, layer: layer, startPosition: startPosition, count: count,
                             scores: batchScores, expanded: expanded, scratch: s, pool: pool)
        } else {
            attendTokenByToken(cache: cache, layer: layer, startPosition: startPosition, count: count,
                               scratch: s, pool: pool)
        }
    }

    private func attendAsMatrices(cache: KVCache, layer: Int, startPosition: Int,
                                  count: Int, scores: UnsafeMutablePointer<Float>,
                                  expanded: UnsafeMutablePointer<Float>, scratch s: ForwardScratch, pool: WorkerPool) {
        let c = config
        let d = c.headDimension
        let scale = 1 / Float(d).squareRoot()
        let visibleMax = startPosition + count
        pool.parallelFor(c.headCount) { heads, worker in
            let weights = scores + worker * s.batchCapacity * s.contextCapacity
            let headKeys = expanded + worker * s.expandedKVStride
            let headValues = headKeys + s.expandedKVStride / 2
            var expandedKVHead = -1
            for head in heads {
                // This head's key/value rows as dense fp32, once per key/value head.
                let kvHead = head / c.headsPerKVHead
                if kvHead != expandedKVHead {
                    AttentionKernels.floatsFromHalves(cache.keys(layer: layer, kvHead: kvHead), d, visibleMax, d,
                                                      headKeys)
                    AttentionKernels.floatsFromHalves(cache.values(layer: layer, kvHead: kvHead), d, visibleMax, d,
                                                      headValues)
                    expandedKVHead = kvHead
                }
                slb_sgemm_a_bt(Int32(count), Int32(visibleMax), Int32(d), s.query + head * d, Int32(c.queryLength),
                               headKeys, Int32(d), weights, Int32(visibleMax))
                for t in 0..<count {
                    // Token t sees positions 0...startPosition + t; later ones get weight 0.
                    let row = weights + t * visibleMax
                    let visible = startPosition + t + 1
                    for j in 0..<visible { row[j] *= scale }
                    softmax(row, count: visible)
                    (row + visible).initialize(repeating: 0, count: visibleMax - visible)
                }
                slb_sgemm_a_b(Int32(count), Int32(d), Int32(visibleMax), weights, Int32(visibleMax),
                              headValues, Int32(d), s.attention + head * d, Int32(c.queryLength))
            }
        }
    }

    /// Causal grouped-query attention for every (token, head) pair of the batch.
    /// Token t sees positions 0...startPosition + t. Each worker takes a
    /// contiguous run of pairs, so the heads sharing a key/value head mostly
    /// land on one worker and read those keys and values from its cache, not
    /// from memory again (measured: interleaving the pairs instead cost 2×
    /// the cache traffic during generation).
    private func attendTokenByToken(cache: KVCache, layer: Int, startPosition: Int,
                                    count: Int, scratch s: ForwardScratch, pool: WorkerPool) {
        let c = config
        let d = c.headDimension
        let scale = 1 / Float(d).squareRoot()
        if d == AttentionKernels.groupHeadDimension, let grouped = AttentionKernels.grouped {
            // Units of up to groupHeads query heads of one key/value head.
            let chunks = (c.headsPerKVHead + AttentionKernels.groupHeads - 1) / AttentionKernels.groupHeads
            let unitsPerToken = c.kvHeadCount * chunks
            pool.parallelFor(count * unitsPerToken) { units, worker in
                let scores = s.scores + worker * s.scoresStride
                for unit in units {
                    let t = unit / unitsPerToken, kvHead = unit % unitsPerToken / chunks, chunk = unit % chunks
                    let firstHead = kvHead * c.headsPerKVHead + chunk * AttentionKernels.groupHeads
                    let heads = min(AttentionKernels.groupHeads, c.headsPerKVHead - chunk * AttentionKernels.groupHeads)
                    let offset = t * c.queryLength + firstHead * d
                    grouped(s.query + offset, heads, cache.keys(layer: layer, kvHead: kvHead),
                            cache.values(layer: layer, kvHead: kvHead), startPosition + t + 1, scale, scores,
                            s.attention + offset)
                }
            }
            return
        }
        pool.parallelFor(count * c.headCount) { pairs, worker in
            let scores = s.scores + worker * s.scoresStride
            for pair in pairs {
                let t = pair / c.headCount, head = pair % c.headCount
                let kvHead = head / c.headsPerKVHead
                let visible = startPosition + t + 1
                let query = s.query + t * c.queryLength + head * d
                AttentionKernels.scores(query, cache.keys(layer: layer, kvHead: kvHead), d, visible, d, scale, scores)
                softmax(scores, count: visible)
                AttentionKernels.mix(scores, cache.values(layer: layer, kvHead: kvHead), d, visible, d,
                                     s.attention + t * c.queryLength + head * d)
            }
        }
    }
}
