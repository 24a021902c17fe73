import CSwiftletSupport

/// A run of a pass's tokens as an observer sees it: consecutive tokens of
/// one sequence, and where that sequence's keys sit in the cache.
struct ObservedRun {
    /// The sequence reported (a packed encoder pass: the text's index).
    let sequence: Int
    let tokens: Range<Int>
    let startPosition: Int
    /// The cache sequence holding its keys, and the cache position of its position 0.
    let cacheSequence: Int
    let cacheOffset: Int
    /// False in a packed encoder pass: every token sees every position of its text.
    let isCausal: Bool

    /// The runs of a pass laid out as `layout`, given its decoder runs.
    static func of(_ layout: TokenLayout, runs: [SequenceRun]) -> [ObservedRun] {
        if case .packed(let sequences) = layout {
            return sequences.enumerated().map { index, range in
                ObservedRun(sequence: index, tokens: range, startPosition: 0, cacheSequence: 0,
                            cacheOffset: range.lowerBound, isCausal: false)
            }
        }
        return runs.map {
            ObservedRun(sequence: $0.sequence, tokens: $0.tokens, startPosition: $0.startPosition,
                        cacheSequence: $0.sequence, cacheOffset: 0, isCausal: true)
        }
    }
}

/// What the forward pass hands an observer. Nothing here runs without one.
extension Transformer {
    /// Each run's rows of `states` (tokens × n_embd) as a `kind` view of `layer`.
    func observe(_ kind: ObservationKinds, layer: Int, states: UnsafePointer<Float>, runs: [ObservedRun],
                 observer: Observer, isCancelled: () -> Bool) throws {
        guard observer.kinds.contains(kind) else { return }
        let e = config.embeddingLength
        for run in runs {
            // A cancel (or the context freed) from an earlier view stops the views too.
            if isCancelled() { throw SwiftletError(.cancelled, "evaluation was cancelled") }
            try observer.deliver(Observation(kind: kind, layer: layer, sequence: run.sequence, tokens: run.tokens,
                                             startPosition: run.startPosition, heads: 1, columns: e,
                                             values: states + run.tokens.lowerBound * e))
        }
    }

    /// Each run's attention weights in `layer`, recomputed from the queries
    /// and the cached keys exactly as the attention step weighs them (scaled
    /// dot products, fp32 softmax over the positions each token sees), so the
    /// attention kernels themselves never write anything an observer needs.
    func observeAttention(layer: Int, query: UnsafePointer<Float>, cache: KVCache, runs: [ObservedRun],
                          plan: ExecutionPlan, observer: Observer, isCancelled: () -> Bool) throws {
        guard observer.kinds.contains(.attention) else { return }
        for run in runs {
            if isCancelled() { throw SwiftletError(.cancelled, "evaluation was cancelled") }
            let columns = run.startPosition + run.tokens.count
            let needed = config.headCount * run.tokens.count * columns
            if observer.attentionWeights.count < needed {
                observer.attentionWeights = [Float](repeating: 0, count: needed)
            }
            observer.attentionWeights.withUnsafeMutableBufferPointer { weights in
                attentionWeights(of: run, layer: layer, query: query, cache: cache, plan: plan, observer: observer,
                                 into: weights.baseAddress!)
            }
            try observer.attentionWeights.withUnsafeBufferPointer { weights in
                try observer.deliver(Observation(kind: .attention, layer: layer, sequence: run.sequence,
                                                 tokens: run.tokens, startPosition: run.startPosition,
                                                 heads: config.headCount, columns: columns,
                                                 values: weights.baseAddress!))
            }
        }
    }

    /// heads × tokens × columns weights of `run` into `out`, 0 where a token does not attend.
    private func attentionWeights(of run: ObservedRun, layer: Int, query: UnsafePointer<Float>, cache: KVCache,
                                  plan: ExecutionPlan, observer: Observer, into out: UnsafeMutablePointer<Float>) {
        let c = config, d = c.headDimension, count = run.tokens.count
        let columns = run.startPosition + count
        let window = run.isCausal ? cache.window(layer: layer) : nil
        // The columns some token of the run sees start here (a window drops older ones from the cache).
        let oldest = window.map { max(0, run.startPosition - $0 + 1) } ?? 0
        let span = columns - oldest
        if observer.expandedKeys.count < span * d { observer.expandedKeys = [Float](repeating: 0, count: span * d) }
        if observer.scores.count < count * span { observer.scores = [Float](repeating: 0, count: count * span) }
        out.initialize(repeating: 0, count: c.headCount * count * columns)
        observer.expandedKeys.withUnsafeMutableBufferPointer { keysBuffer in
            observer.scores.withUnsafeMutableBufferPointer { scoresBuffer in
                let keys = keysBuffer.baseAddress!, scores = scoresBuffer.baseAddress!
                for kvHead in 0..<c.kvHeadCount {
                    let cached = cache.keys(layer: layer, kvHead: kvHead)
                    cache.forEachRun(layer: layer, sequence: run.cacheSequence,
                                     positions: run.cacheOffset + oldest..<run.cacheOffset + columns) { row, offset, rows in
                        plan.kernels.floatsFromHalves(cached + row * d, d, rows, d, keys + offset * d)
                    }
                    for head in kvHead * c.headsPerKVHead..<(kvHead + 1) * c.headsPerKVHead {
                        slb_sgemm_a_bt(Int32(count), Int32(span), Int32(d),
                                       query + run.tokens.lowerBound * c.queryLength + head * d, Int32(c.queryLength),
                                       keys, Int32(d), scores, Int32(span))
                        for t in 0..<count {
                            let position = run.startPosition + t
                            let seen = run.isCausal
                                ? (window.map { max(0, position - $0 + 1) } ?? 0)..<position + 1 : 0..<columns
                            let row = out + (head * count + t) * columns
                            for j in seen { row[j] = scores[t * span + j - oldest] * c.attentionScale }
                            plan.kernels.softmax(row + seen.lowerBound, seen.count)
                        }
                    }
                }
            }
        }
    }
}
