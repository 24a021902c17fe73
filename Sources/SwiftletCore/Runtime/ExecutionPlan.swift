import CSwiftletSupport

/// How a forward pass runs on this CPU, decided in one place: for each batch
/// size, which product path (int8 row kernels, the packed VNNI kernel, or
/// dequantize + sgemm) and which attention path (token by token over the
/// fp16 cache, or per-head sgemm) runs; and the buffers exactly those paths
/// need, allocated once with the context. The model's forward pass
/// (Transformer) asks it to project and to attend and never sees a kernel.
///
/// Why these thresholds: the packed VNNI kernel pays for rearranging the
/// activations from 8 tokens on (PackedMatrixProduct.minimumTokens); without
/// VNNI, dequantizing weight rows for sgemm pays only from 32 tokens
/// (DequantizedMatrixProduct.minimumTokens), and so does sgemm attention.
/// Every path multiplies the same int8-rounded activations, so a batch gives
/// the logits its tokens give one by one (up to summation order).
///
/// Encoders are the exception: their products always run as dequantize +
/// sgemm with the activations unrounded (int8 weights, fp32 activations).
/// BERT's hidden states carry a few outlier dimensions that 32-value int8
/// blocks represent poorly: int8 activations cost all-MiniLM-L6-v2 a cosine
/// of 0.998 against sentence-transformers on its shortest inputs, int8
/// weights alone 0.9996. An encoder has no generation loop whose latency the
/// row kernels would serve.
final class ExecutionPlan {
    let pool: WorkerPool
    /// This CPU's kernels.
    let kernels = KernelTable.current
    let config: TransformerConfig
    let batchCapacity: Int
    let contextCapacity: Int

    /// [batch, widest input] int8 activations + per-block scales and sums
    /// (and the Q8_K-shaped copy, SuperBlockActivations).
    private let quantized: QuantizedActivations
    /// Whether some matrix is in super-blocks: only then is the second shape quantized.
    private let quantizesSuperBlocks: Bool
    /// Per worker: one score per visible position for each query head of a
    /// key/value group the grouped attention kernel takes at once.
    private let scores: UnsafeMutablePointer<Float>
    private let scoresStride: Int
    private let packed: PackedBuffers?
    private let sgemm: SgemmBuffers?
    private let matrixAttention: MatrixAttentionBuffers?
    /// Products take the activations as they are, through sgemm, for every
    /// batch size (encoders; see the type's comment).
    private let unroundedActivations: Bool
    private let buffers: [AnyObject]

    /// The packed VNNI path's activations and per-worker tile scratch.
    private struct PackedBuffers {
        let values: UnsafeMutablePointer<Int8>
        let scales: UnsafeMutablePointer<Float>
        let sums: UnsafeMutablePointer<Float>
        let tiles: UnsafeMutableRawPointer
        let tileStride: Int
    }

    /// The sgemm path's int8-rounded activations as floats (rounded per
    /// 32-value block, and per super-block for the matrices in super-blocks,
    /// as the row kernels would see them) and per-worker fp32 copies of weight-row slices.
    private struct SgemmBuffers {
        let rounded: UnsafeMutablePointer<Float>
        let roundedInSuperBlocks: UnsafeMutablePointer<Float>
        let dequantized: UnsafeMutablePointer<Float>
        let dequantizedStride: Int
    }

    /// Per worker: one head's [batch, context] attention weights, and fp32
    /// copies of one key/value head's rows (keys, then values).
    private struct MatrixAttentionBuffers {
        let weights: UnsafeMutablePointer<Float>
        let expanded: UnsafeMutablePointer<Float>
        let expandedStride: Int
    }

    /// `formats`: those of the matrices it will multiply (TransformerWeights.projectionFormats).
    init(config c: TransformerConfig, formats: Set<WeightFormat>, batchCapacity b: Int, contextCapacity: Int,
         pool: WorkerPool, arena: Arena) throws {
        self.pool = pool
        config = c
        batchCapacity = b
        self.contextCapacity = contextCapacity
        let workers = pool.threadCount
        var buffers: [AnyObject] = []
        func floats(_ count: Int) throws -> UnsafeMutablePointer<Float> {
            let buffer = try ArenaBuffer<Float>(count: count, in: arena)
            buffers.append(buffer)
            return buffer.pointer
        }
        func bytes(_ count: Int) throws -> UnsafeMutablePointer<Int8> {
            let buffer = try ArenaBuffer<Int8>(count: count, in: arena)
            buffers.append(buffer)
            return buffer.pointer
        }
        let widest = max(c.embeddingLength, c.feedForwardLength, c.queryLength)
        let widestBlocks = b * widest / WeightFormat.valuesPerBlock
        quantizesSuperBlocks = formats.contains { $0.usesSuperBlocks }
        let superBlocks = quantizesSuperBlocks ? b * widest / WeightFormat.valuesPerSuperBlock : 0
        let superBlockSums = try ArenaBuffer<Int16>(count: superBlocks * SuperBlockActivationLayout.sumsPerBlock,
                                                    in: arena)
        buffers.append(superBlockSums)
        quantized = QuantizedActivations(
            values: try bytes(b * widest), scales: try floats(widestBlocks), sums: try floats(widestBlocks),
            columns: widest,
            superBlocks: SuperBlockActivations(values: try bytes(quantizesSuperBlocks ? b * widest : 0),
                                               scales: try floats(superBlocks), sums: superBlockSums.pointer,
                                               columns: widest))
        scoresStride = (kernels.groupedAttention?.heads ?? 1) * contextCapacity
        scores = try floats(workers * scoresStride)

        unroundedActivations = !c.isCausal
        // The packed kernel takes the 8- and 4-bit formats only; a model with others goes through sgemm.
        if !unroundedActivations && b >= PackedMatrixProduct.minimumTokens && kernels.hasPackedProduct
            && formats.allSatisfy(PackedMatrixProduct.takes) {
            let capacity = PackedActivations.capacity(tokens: b, columns: widest)
            let tileStride = (PackedMatrixProduct.tileScratchBytes(columns: widest) + 63) / 64 * 64
            packed = PackedBuffers(values: try bytes(capacity.values), scales: try floats(capacity.floats),
                                   sums: try floats(capacity.floats),
                                   tiles: UnsafeMutableRawPointer(try bytes(workers * tileStride)), tileStride: tileStride)
        } else {
            packed = nil
        }
        let batchesReachGEMM = b >= DequantizedMatrixProduct.minimumTokens
        if (batchesReachGEMM || unroundedActivations) && packed == nil {
            // The largest slice one worker dequantizes: its share of any block matrix's rows.
            func slice(_ rows: Int, _ columns: Int) -> Int { (rows + workers - 1) / workers * columns }
            let stride = max(slice(c.queryLength, c.embeddingLength), slice(c.kvLength, c.embeddingLength),
                             slice(c.embeddingLength, c.queryLength), slice(c.feedForwardLength, c.embeddingLength),
                             slice(c.embeddingLength, c.feedForwardLength))
            let rounded = unroundedActivations ? 0 : b * widest
            sgemm = SgemmBuffers(rounded: try floats(rounded),
                                 roundedInSuperBlocks: try floats(quantizesSuperBlocks ? b * widest : 0), dequantized: try floats(workers * stride),
                                 dequantizedStride: stride)
        } else {
            sgemm = nil
        }
        if batchesReachGEMM {
            let stride = 2 * contextCapacity * c.headDimension
            matrixAttention = MatrixAttentionBuffers(weights: try floats(workers * b * contextCapacity),
                                                     expanded: try floats(workers * stride), expandedStride: stride)
        } else {
            matrixAttention = nil
        }
        self.buffers = buffers
    }

    // MARK: - Projections

    /// A projection's input as the chosen kernel wants it: int8 blocks for the
    /// row kernels, the same int8 values rearranged for the packed kernel, or
    /// turned back into floats for sgemm. With unrounded activations the
    /// batched logits drifted from llama.cpp's by up to ~0.4 at some positions
    /// of the agreement test: every path rounds.
    enum ProjectionInput {
        case rows(QuantizedActivations)
        case packed(PackedActivations, tiles: UnsafeMutableRawPointer, tileStride: Int)
        case dense(UnsafePointer<Float>, inSuperBlocks: UnsafePointer<Float>, scratch: UnsafeMutablePointer<Float>,
                   scratchStride: Int)
    }

    /// Quantizes `count` rows of `columns` values of `x` for the path this
    /// batch size takes (an encoder's are used unrounded).
    func prepare(_ x: UnsafePointer<Float>, columns: Int, count: Int) -> ProjectionInput {
        if unroundedActivations, let sgemm {
            // x itself: the caller keeps it unchanged until the product is made.
            return .dense(x, inSuperBlocks: x, scratch: sgemm.dequantized, scratchStride: sgemm.dequantizedStride)
        }
        if count >= PackedMatrixProduct.minimumTokens, let packed {
            let q = quantize(x, columns: columns, count: count)
            let activations = PackedActivations(values: packed.values, scales: packed.scales, sums: packed.sums,
                                                columns: columns, tokens: count)
            pool.parallelFor(activations.groupCount) { groups in activations.pack(q, groups: groups) }
            return .packed(activations, tiles: packed.tiles, tileStride: packed.tileStride)
        }
        if count >= DequantizedMatrixProduct.minimumTokens, let sgemm {
            _ = quantize(x, columns: columns, count: count,
                         dense: (sgemm.rounded, inSuperBlocks: sgemm.roundedInSuperBlocks))
            return .dense(sgemm.rounded, inSuperBlocks: sgemm.roundedInSuperBlocks, scratch: sgemm.dequantized,
                          scratchStride: sgemm.dequantizedStride)
        }
        return .rows(quantize(x, columns: columns, count: count))
    }

    /// An int8 input for the row kernels whatever the batch size (the output
    /// head: dequantizing the whole vocabulary matrix would not pay for itself).
    func prepareRows(_ x: UnsafePointer<Float>, columns: Int, count: Int) -> ProjectionInput {
        .rows(quantize(x, columns: columns, count: count))
    }

    /// out[t, r] = matrix row r · input token t, rows split across the workers.
    func multiply(_ matrix: QuantizedMatrix, _ input: ProjectionInput, _ count: Int, into out: UnsafeMutablePointer<Float>) {
        switch input {
        case .rows(let q):
            pool.parallelFor(matrix.rows) { rows in
                kernels.multiply(matrix, rows: rows, by: q, tokens: count, into: out, outputStride: matrix.rows)
            }
        case .packed(let activations, let tiles, let stride):
            pool.parallelFor(matrix.rows) { rows, worker in
                PackedMatrixProduct.multiply(matrix, rows: rows, by: activations, scratch: tiles + worker * stride,
                                             output: out, outputStride: matrix.rows)
            }
        case .dense(let rounded, let roundedInSuperBlocks, let scratch, let stride):
            let x = matrix.format.usesSuperBlocks ? roundedInSuperBlocks : rounded
            pool.parallelFor(matrix.rows) { rows, worker in
                DequantizedMatrixProduct.multiply(matrix, rows: rows, input: x, tokens: count,
                                                  scratch: scratch + worker * stride, output: out, outputStride: matrix.rows)
            }
        }
    }

    /// Three projections of the same input (query, key, value). On the row
    /// kernels they run as one parallel job over all their rows: one wake-up
    /// of the workers instead of three (generation is latency-bound).
    func multiply(_ first: QuantizedMatrix, into firstOut: UnsafeMutablePointer<Float>,
                  _ second: QuantizedMatrix, into secondOut: UnsafeMutablePointer<Float>,
                  _ third: QuantizedMatrix, into thirdOut: UnsafeMutablePointer<Float>,
                  _ input: ProjectionInput, _ count: Int) {
        guard case .rows(let q) = input else {
            multiply(first, input, count, into: firstOut)
            multiply(second, input, count, into: secondOut)
            multiply(third, input, count, into: thirdOut)
            return
        }
        let firstEnd = first.rows, secondEnd = firstEnd + second.rows
        pool.parallelFor(secondEnd + third.rows) { rows in
            // The part of `rows` that falls in each matrix, in that matrix's own row numbers.
            func run(_ matrix: QuantizedMatrix, _ out: UnsafeMutablePointer<Float>, _ offset: Int) {
                let lower = max(rows.lowerBound - offset, 0), upper = min(rows.upperBound - offset, matrix.rows)
                if lower < upper {
                    kernels.multiply(matrix, rows: lower..<upper, by: q, tokens: count, into: out,
                                     outputStride: matrix.rows)
                }
            }
            run(first, firstOut, 0)
            run(second, secondOut, firstEnd)
            run(third, thirdOut, secondEnd)
        }
    }

    /// gate = act(Wgate·x) ⊙ Wup·x (`up` receives Wup·x), act = silu
    /// (SwiGLU) or gelu (GeGLU) as the config says. On the row kernels each
    /// worker computes the same rows of both products and applies the
    /// activation to them: one parallel job instead of two plus a pass.
    func gatedFeedForward(gate: QuantizedMatrix, up: QuantizedMatrix, _ input: ProjectionInput, _ count: Int,
                          into gateOut: UnsafeMutablePointer<Float>, up upOut: UnsafeMutablePointer<Float>,
                          adapt: ((_ gate: UnsafeMutablePointer<Float>, _ up: UnsafeMutablePointer<Float>) -> Void)? = nil) {
        let n = gate.rows
        let activate = config.feedForward == .geGLU ? kernels.geGLU : kernels.swiGLU
        // With `adapt` (LoRA terms on the gate or up product), the products are
        // made whole and adapted before the activation.
        guard case .rows(let q) = input, adapt == nil else {
            multiply(gate, input, count, into: gateOut)
            multiply(up, input, count, into: upOut)
            adapt?(gateOut, upOut)
            pool.parallelFor(count) { tokens in
                activate(gateOut + tokens.lowerBound * n, upOut + tokens.lowerBound * n, tokens.count * n)
            }
            return
        }
        pool.parallelFor(n) { rows in
            kernels.multiply(gate, rows: rows, by: q, tokens: count, into: gateOut, outputStride: n)
            kernels.multiply(up, rows: rows, by: q, tokens: count, into: upOut, outputStride: n)
            for t in 0..<count {
                activate(gateOut + t * n + rows.lowerBound, upOut + t * n + rows.lowerBound, rows.count)
            }
        }
    }

    /// Quantizes `count` rows, also in the super-block shape when a matrix
    /// needs it; with `dense`, writes the rounded values back as floats
    /// there. Large batches are split across the workers.
    private func quantize(
        _ x: UnsafePointer<Float>, columns: Int, count: Int,
        dense: (UnsafeMutablePointer<Float>, inSuperBlocks: UnsafeMutablePointer<Float>)? = nil
    ) -> QuantizedActivations {
        let q = QuantizedActivations(values: quantized.values, scales: quantized.scales, sums: quantized.sums,
                                     columns: columns, superBlocks: quantized.superBlocks.with(columns: columns))
        // Inputs whose width is not a multiple of 256 never meet a super-block matrix.
        let superBlocks = quantizesSuperBlocks && columns % WeightFormat.valuesPerSuperBlock == 0
        let work = { (tokens: Range<Int>) in
            q.quantize(x, inputStride: columns, tokens: tokens, superBlocks: superBlocks)
            if let dense {
                q.dequantize(into: dense.0, tokens: tokens)
                if superBlocks { q.superBlocks.dequantize(into: dense.inSuperBlocks, tokens: tokens) }
            }
        }
        if count >= DequantizedMatrixProduct.minimumTokens { pool.parallelFor(count, work) } else { work(0..<count) }
        return q
    }

    // MARK: - Attention

    /// Causal grouped-query attention of the pass's tokens, each run
    /// continuing one sequence, their keys and values already in `cache`:
    /// out[t, head] = softmax(q[t, head] · K[kvHead]ᵀ · scale) · V[kvHead],
    /// over the positions of its own sequence the layer sees (all earlier
    /// ones, or its window). Long runs (prompts) take each head as two sgemm
    /// calls; the short ones (generation: one token per sequence) go token by
    /// token over the fp16 cache, all of them in one parallel loop.
    func attend(query: UnsafePointer<Float>, cache: KVCache, layer: Int, runs: [SequenceRun],
                into out: UnsafeMutablePointer<Float>) {
        var shortRuns: [SequenceRun] = []
        for run in runs {
            if run.tokens.count >= DequantizedMatrixProduct.minimumTokens, let matrixAttention {
                attendAsMatrices(run, query: query, cache: cache, layer: layer, buffers: matrixAttention, into: out)
            } else {
                shortRuns.append(run)
            }
        }
        if shortRuns.count == 1, let run = shortRuns.first, run.tokens.lowerBound == 0 {
            // One sequence (generation, a short prompt): no index tables.
            attendTokenByToken(query: query, cache: cache, layer: layer, count: run.tokens.count, into: out) { t in
                cache.visibleRows(layer: layer, sequence: run.sequence, position: run.startPosition + t)
            }
        } else if !shortRuns.isEmpty {
            var tokens: [Int] = [], rows: [(first: Int, count: Int)] = []
            for run in shortRuns {
                for t in run.tokens {
                    tokens.append(t)
                    rows.append(cache.visibleRows(layer: layer, sequence: run.sequence,
                                                  position: run.startPosition + t - run.tokens.lowerBound))
                }
            }
            tokens.withUnsafeBufferPointer { tokens in
                attendTokenByToken(query: query, cache: cache, layer: layer, count: tokens.count, into: out,
                                   tokens: tokens) { rows[$0] }
            }
        }
    }

    /// One long run's attention as matrix products. A sliding-window layer
    /// takes it in chunks of queries, each multiplied with only the window −
    /// 1 + chunk positions it sees: one product over the whole run would
    /// compute (and mask) count × (window + count) scores, mostly outside
    /// every window for a long prompt.
    private func attendAsMatrices(_ run: SequenceRun, query: UnsafePointer<Float>, cache: KVCache, layer: Int,
                                  buffers: MatrixAttentionBuffers, into out: UnsafeMutablePointer<Float>) {
        let window = cache.window(layer: layer)
        let count = run.tokens.count, q = config.queryLength
        let chunk = window.map { max(Self.windowQueryChunk, $0 / 4) } ?? count
        var done = 0
        while done < count {
            let tokens = min(chunk, count - done)
            let start = run.startPosition + done
            // The positions some token of the chunk sees; token t sees
            // (position − window, position] of them.
            let oldest = window.map { max(0, start - $0 + 1) } ?? 0
            let first = (run.tokens.lowerBound + done) * q
            attendAsMatrices(query: query + first, cache: cache, layer: layer, sequence: run.sequence,
                             keyPositions: oldest..<start + tokens, count: tokens, buffers: buffers,
                             into: out + first) { t in
                let position = start + t
                return (window.map { max(oldest, position - $0 + 1) - oldest } ?? 0, position - oldest + 1)
            }
            done += tokens
        }
    }

    /// Attention of independent sequences packed in one pass
    /// (TokenLayout.packed, encoders): each token over every row of its own
    /// sequence, its keys and values in cache rows 0..<count. Long sequences
    /// run as matrix products; the short ones token by token, all of them in
    /// one parallel loop.
    func attend(query: UnsafePointer<Float>, cache: KVCache, layer: Int, sequences: [Range<Int>],
                into out: UnsafeMutablePointer<Float>) {
        var sequenceOfToken: [Range<Int>] = []
        var short: [Int] = []  // the tokens of the short sequences
        for sequence in sequences {
            if sequence.count >= DequantizedMatrixProduct.minimumTokens, let matrixAttention {
                let q = config.queryLength
                attendAsMatrices(query: query + sequence.lowerBound * q, cache: cache, layer: layer,
                                 keyPositions: sequence, count: sequence.count, buffers: matrixAttention,
                                 into: out + sequence.lowerBound * q) { _ in (0, sequence.count) }
            } else {
                short.append(contentsOf: sequence)
                sequenceOfToken.append(contentsOf: repeatElement(sequence, count: sequence.count))
            }
        }
        guard !short.isEmpty else { return }
        short.withUnsafeBufferPointer { tokens in
            attendTokenByToken(query: query, cache: cache, layer: layer, count: tokens.count, into: out,
                               tokens: tokens) { i in (sequenceOfToken[i].lowerBound, sequenceOfToken[i].count) }
        }
    }

    /// The smallest query chunk of a sliding-window layer's batch attention.
    static let windowQueryChunk = 64

    /// `count` tokens' attention over the cache positions `keyPositions`,
    /// expanded densely in position order: per head, scores = Q·Kᵀ as one
    /// sgemm, then token t's softmax over span indices `visible(t)` = (first,
    /// end) (the others weigh 0), then out = weights · V as another.
    private func attendAsMatrices(query: UnsafePointer<Float>, cache: KVCache, layer: Int, sequence: Int = 0,
                                  keyPositions: Range<Int>,
                                  count: Int, buffers: MatrixAttentionBuffers, into out: UnsafeMutablePointer<Float>,
                                  visible: (Int) -> (first: Int, end: Int)) {
        let c = config
        let d = c.headDimension
        let scale = c.attentionScale
        let span = keyPositions.count
        let batchCapacity = batchCapacity, contextCapacity = contextCapacity
        pool.parallelFor(c.headCount) { heads, worker in
            let weights = buffers.weights + worker * batchCapacity * contextCapacity
            let headKeys = buffers.expanded + worker * buffers.expandedStride
            let headValues = headKeys + buffers.expandedStride / 2
            var expandedKVHead = -1
            for head in heads {
                // This head's key/value rows as dense fp32, once per key/value head.
                let kvHead = head / c.headsPerKVHead
                if kvHead != expandedKVHead {
                    let keys = cache.keys(layer: layer, kvHead: kvHead), values = cache.values(layer: layer, kvHead: kvHead)
                    cache.forEachRun(layer: layer, sequence: sequence, positions: keyPositions) { row, offset, rows in
                        kernels.floatsFromHalves(keys + row * d, d, rows, d, headKeys + offset * d)
                        kernels.floatsFromHalves(values + row * d, d, rows, d, headValues + offset * d)
                    }
                    expandedKVHead = kvHead
                }
                slb_sgemm_a_bt(Int32(count), Int32(span), Int32(d), query + head * d, Int32(c.queryLength),
                               headKeys, Int32(d), weights, Int32(span))
                for t in 0..<count {
                    let row = weights + t * span
                    let (first, end) = visible(t)
                    row.initialize(repeating: 0, count: first)
                    for j in first..<end { row[j] *= scale }
                    kernels.softmax(row + first, end - first)
                    (row + end).initialize(repeating: 0, count: span - end)
                }
                slb_sgemm_a_b(Int32(count), Int32(d), Int32(span), weights, Int32(span),
                              headValues, Int32(d), out + head * d, Int32(c.queryLength))
            }
        }
    }

    /// Every (token, head) pair of the batch. Each worker takes a contiguous
    /// run of pairs, so the heads sharing a key/value head mostly land on one
    /// worker and read those keys and values from its cache, not from memory
    /// again (measured: interleaving the pairs instead cost 2× the cache
    /// traffic during generation).
    /// `rows(i)` gives the (first, count) cache rows the i-th token sees; the
    /// tokens are 0..<count of the batch, or the batch indices in `tokens`.
    private func attendTokenByToken(query: UnsafePointer<Float>, cache: KVCache, layer: Int, count: Int,
                                    into out: UnsafeMutablePointer<Float>, tokens: UnsafeBufferPointer<Int>? = nil,
                                    rows: (Int) -> (first: Int, count: Int)) {
        let c = config
        let d = c.headDimension
        let scale = c.attentionScale
        let scoresBase = scores, scoresStride = scoresStride
        if let grouped = kernels.groupedAttention, grouped.takes(d) {
            // Units of up to grouped.heads query heads of one key/value head.
            let chunks = (c.headsPerKVHead + grouped.heads - 1) / grouped.heads
            let unitsPerToken = c.kvHeadCount * chunks
            pool.parallelFor(count * unitsPerToken) { units, worker in
                let scores = scoresBase + worker * scoresStride
                for unit in units {
                    let i = unit / unitsPerToken, kvHead = unit % unitsPerToken / chunks, chunk = unit % chunks
                    let t = tokens?[i] ?? i
                    let firstHead = kvHead * c.headsPerKVHead + chunk * grouped.heads
                    let heads = min(grouped.heads, c.headsPerKVHead - chunk * grouped.heads)
                    let offset = t * c.queryLength + firstHead * d
                    let (first, visible) = rows(i)
                    grouped.run(query + offset, heads, cache.keys(layer: layer, kvHead: kvHead) + first * d,
                                cache.values(layer: layer, kvHead: kvHead) + first * d, visible, d, scale, scores,
                                out + offset)
                }
            }
            return
        }
        pool.parallelFor(count * c.headCount) { pairs, worker in
            let scores = scoresBase + worker * scoresStride
            for pair in pairs {
                let i = pair / c.headCount, head = pair % c.headCount
                let t = tokens?[i] ?? i
                let kvHead = head / c.headsPerKVHead
                let (first, visible) = rows(i)
                let offset = t * c.queryLength + head * d
                kernels.attentionScores(query + offset, cache.keys(layer: layer, kvHead: kvHead) + first * d, d, visible,
                                        d, scale, scores)
                kernels.softmax(scores, visible)
                kernels.attentionMix(scores, cache.values(layer: layer, kvHead: kvHead) + first * d, d, visible, d,
                                     out + offset)
            }
        }
    }
}
