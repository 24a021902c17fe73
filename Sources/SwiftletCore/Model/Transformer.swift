import Glibc

/// What a forward pass produces.
enum ForwardOutput {
    /// The last token's logits, into `n_vocab` floats.
    case lastTokenLogits(UnsafeMutablePointer<Float>)
    /// Every token's logits, into `tokens × n_vocab` floats, row-major.
    case everyTokenLogits(UnsafeMutablePointer<Float>)
    /// The logits of the tokens `rows` (ascending), into `rows.count × n_vocab` floats.
    case logitsOf(rows: [Int], into: UnsafeMutablePointer<Float>)
    /// Every token's final hidden state (after the final norm, where the
    /// model has one), into `tokens × n_embd` floats: what embeddings pool.
    case hiddenStates(UnsafeMutablePointer<Float>)
}

/// How the tokens of one pass sit in the cache and what each attends to.
enum TokenLayout {
    /// One sequence (sequence 0) continuing at `startPosition`: each token
    /// attends to the positions before it (and, on a sliding-window layer,
    /// only the recent ones).
    case continuing(startPosition: Int)
    /// Several sequences of the cache continuing, each as `.continuing` does,
    /// each from its own run of the pass's tokens (the runs tile 0..<count).
    case sequences([SequenceRun])
    /// Independent sequences packed one after another (`sequences` tile
    /// 0..<count), each at positions 0..., in cache rows 0..<count: every
    /// token attends to every token of its own sequence and to no other, so
    /// sentences of different lengths need no padding (encoders).
    case packed(sequences: [Range<Int>])
}

/// Consecutive tokens of a pass that continue one sequence of the cache at
/// `startPosition`.
struct SequenceRun: Equatable {
    let sequence: Int
    let tokens: Range<Int>
    let startPosition: Int
}

/// The forward pass of every architecture. It reads top to bottom like the
/// equations: embed (+ positions); per block, for pre-LN decoders
/// h = x + attention(norm(x)), x = h + ffn(norm(h)), then a final norm and
/// the head; for post-LN encoders (BERT) h = norm(x + attention(x)),
/// x = norm(h + ffn(h)), and the hidden states are the output. (Gemma adds
/// a norm on each branch's output and on each head's query and key.) What
/// differs between architectures is in the config (norm and its placement,
/// positions, biases, MLP, causal or not), never in a branch on an
/// architecture's name; how each product and the attention run on this CPU
/// is the ExecutionPlan's business. Norms, RoPE, softmax and attention are
/// fp32; products are int8 (DESIGN decision 6).
struct Transformer: Sendable {
    let config: TransformerConfig
    let weights: TransformerWeights
    /// base^(-2i/d) for each rotated pair i: RoPE's per-pair frequencies (empty without RoPE).
    private let inverseFrequencies: [Double]
    /// The same for the sliding-window layers' base (empty without sliding windows).
    private let windowInverseFrequencies: [Double]

    init(config: TransformerConfig, weights: TransformerWeights) {
        self.config = config
        self.weights = weights
        func frequencies(_ base: Float) -> [Double] {
            let d = Double(config.headDimension)
            return (0..<config.headDimension / 2).map { pow(Double(base), -2 * Double($0) / d) }
        }
        if case .rotary(_, let base) = config.positions {
            inverseFrequencies = frequencies(base)
            windowInverseFrequencies = config.slidingWindow.map { frequencies($0.rotaryBase) } ?? []
        } else {
            inverseFrequencies = []
            windowInverseFrequencies = []
        }
    }

    /// Evaluates `tokens` (already validated) laid out as `layout` says,
    /// writing their keys and values into `cache`. `isCancelled` is asked once
    /// per block, so a cancelled pass never reaches the output and the output
    /// buffer keeps what it held. `adapters` (LoRA) add their low-rank terms
    /// to the products they change, right after each product and its bias.
    /// An `observer` sees the views it asked for as the pass computes them (Observer).
    func forward(tokens: UnsafeBufferPointer<Int32>, layout: TokenLayout, cache: KVCache, scratch s: ForwardScratch,
                 plan: ExecutionPlan, output: ForwardOutput, adapters: AttachedAdapters? = nil,
                 observer: Observer? = nil, isCancelled: () -> Bool) throws {
        let c = config
        let count = tokens.count
        let positions: [Int]
        var runs: [SequenceRun] = []
        switch layout {
        case .continuing(let start):
            runs = [SequenceRun(sequence: 0, tokens: 0..<count, startPosition: start)]
            positions = Array(start..<start + count)
        case .sequences(let given):
            runs = given
            positions = runs.flatMap { run in run.tokens.map { run.startPosition + $0 - run.tokens.lowerBound } }
        case .packed(let sequences):
            precondition(!c.isCausal && count <= cache.capacity && sequences.last?.upperBound == count)
            positions = sequences.flatMap { sequence in sequence.map { $0 - sequence.lowerBound } }
        }
        for run in runs {
            precondition(c.isCausal && run.startPosition + run.tokens.count <= cache.capacity
                         && run.sequence < cache.sequenceCount)
        }
        precondition(positions.count == count)
        precondition(count <= s.batchCapacity)
        let postNorm = c.normPlacement == .afterResidual

        embed(tokens, positions: positions, into: s)
        fillRotation(s.rotation, inverseFrequencies, positions: positions)
        fillRotation(s.windowRotation, windowInverseFrequencies, positions: positions)
        for run in runs {
            cache.willStore(sequence: run.sequence, positions: run.startPosition..<run.startPosition + run.tokens.count)
        }
        if runs.isEmpty { cache.willStore(positions: 0..<count) }  // packed: rows 0..<count of sequence 0
        let observedRuns = observer == nil ? [] : ObservedRun.of(layout, runs: runs)

        for (layer, block) in weights.blocks.enumerated() {
            if isCancelled() { throw SwiftletError(.cancelled, "evaluation was cancelled") }
            // Attention: h = x + Wo · attend(rope(Wq·n + bq), rope(Wk·n + bk), Wv·n + bv) + bo, n = norm(x)
            // (post-LN: n = x, and h is normed after the add; Gemma: q and k
            // normed per head before RoPE, the branch's output normed before the add).
            let attentionInput = postNorm ? UnsafePointer(s.hidden) : normalize(s.hidden, block.attentionNorm, into: s.normed, count: count)
            let normed = plan.prepare(attentionInput, columns: c.embeddingLength, count: count)
            plan.multiply(block.query.matrix, into: s.query, block.key.matrix, into: s.key,
                          block.value.matrix, into: s.value, normed, count)
            addBias(block.query, to: s.query, count: count)
            addBias(block.key, to: s.key, count: count)
            addBias(block.value, to: s.value, count: count)
            adapters?.apply(layer, .query, attentionInput, count, into: s.query)
            adapters?.apply(layer, .key, attentionInput, count, into: s.key)
            adapters?.apply(layer, .value, attentionInput, count, into: s.value)
            normalizeHeads(s.query, block.queryNorm, heads: count * c.headCount)
            normalizeHeads(s.key, block.keyNorm, heads: count * c.kvHeadCount)
            rotate(s, count: count, rotation: c.window(layer: layer) == nil ? s.rotation : s.windowRotation)
            switch layout {
            case .packed(let sequences):
                cache.store(keys: s.key, values: s.value, layer: layer, startPosition: 0, count: count)
                plan.attend(query: s.query, cache: cache, layer: layer, sequences: sequences, into: s.attention)
            default:
                for run in runs {
                    let offset = run.tokens.lowerBound * c.kvLength
                    cache.store(keys: s.key + offset, values: s.value + offset, layer: layer, sequence: run.sequence,
                                startPosition: run.startPosition, count: run.tokens.count)
                }
                plan.attend(query: s.query, cache: cache, layer: layer, runs: runs, into: s.attention)
            }
            if let observer {
                try observeAttention(layer: layer, query: s.query, cache: cache, runs: observedRuns, plan: plan,
                                     observer: observer, isCancelled: isCancelled)
            }
            let attention = plan.prepare(s.attention, columns: c.queryLength, count: count)
            plan.multiply(block.attentionOutput.matrix, attention, count, into: s.projected)
            addBias(block.attentionOutput, to: s.projected, count: count)
            adapters?.apply(layer, .attentionOutput, s.attention, count, into: s.projected)
            if let norm = block.attentionOutputNorm { normalize(s.projected, norm, into: s.projected, count: count) }
            addResidual(s.projected, into: s.hidden, count: count * c.embeddingLength)
            if postNorm { normalize(s.hidden, block.attentionNorm, into: s.hidden, count: count) }
            if let observer {
                try observe(.afterAttention, layer: layer, states: s.hidden, runs: observedRuns, observer: observer,
                            isCancelled: isCancelled)
            }

            // Feed-forward: x = h + Wdown · act(n) + bdown, n = norm(h), act(n) =
            // silu(Wgate·n) ⊙ Wup·n (SwiGLU), gelu(Wgate·n) ⊙ Wup·n (GeGLU) or
            // gelu(Wup·n + bup) (GELU MLP). (Post-LN: n = h, and x is normed
            // after the add; Gemma: the output normed before the add.)
            let feedForwardInput = postNorm ? UnsafePointer(s.hidden) : normalize(s.hidden, block.feedForwardNorm, into: s.normed, count: count)
            let ffnInput = plan.prepare(feedForwardInput, columns: c.embeddingLength, count: count)
            let n = c.feedForwardLength
            switch c.feedForward {
            case .swiGLU, .geGLU:
                plan.gatedFeedForward(gate: block.gate!.matrix, up: block.up.matrix, ffnInput, count,
                                      into: s.gate, up: s.up,
                                      adapt: adapters?.gateAndUp(layer, feedForwardInput, count))
            case .gelu, .geluErf:
                plan.multiply(block.up.matrix, ffnInput, count, into: s.gate)
                addBias(block.up, to: s.gate, count: count)
                adapters?.apply(layer, .up, feedForwardInput, count, into: s.gate)
                let erf = c.feedForward == .geluErf
                plan.pool.parallelFor(count) { tokens in
                    let x = s.gate + tokens.lowerBound * n
                    if erf { plan.kernels.geluErf(x, tokens.count * n) } else { gelu(x, count: tokens.count * n) }
                }
            }
            let activated = plan.prepare(s.gate, columns: c.feedForwardLength, count: count)
            plan.multiply(block.down.matrix, activated, count, into: s.projected)
            addBias(block.down, to: s.projected, count: count)
            adapters?.apply(layer, .down, s.gate, count, into: s.projected)
            if let norm = block.feedForwardOutputNorm { normalize(s.projected, norm, into: s.projected, count: count) }
            addResidual(s.projected, into: s.hidden, count: count * c.embeddingLength)
            if postNorm { normalize(s.hidden, block.feedForwardNorm, into: s.hidden, count: count) }
            if let observer {
                try observe(.hidden, layer: layer, states: s.hidden, runs: observedRuns, observer: observer,
                            isCancelled: isCancelled)
            }
        }
        if let observer, observer.kinds.contains(.final) {
            // Every token's final normed state (the head's input), into `normed`, which the output step overwrites.
            let final = weights.outputNorm.map { normalize(s.hidden, $0, into: s.normed, count: count) }
                ?? UnsafePointer(s.hidden)
            try observe(.final, layer: weights.blocks.count, states: final, runs: observedRuns, observer: observer,
                        isCancelled: isCancelled)
        }

        // Output: hidden states, or logits = Wout · norm(x) for the tokens asked for.
        let e = c.embeddingLength
        switch output {
        case .hiddenStates(let out):
            if let norm = weights.outputNorm {
                normalize(s.hidden, norm, into: out, count: count)
            } else {
                out.update(from: s.hidden, count: count * e)
            }
        case .lastTokenLogits(let out):
            let last = normalize(s.hidden + (count - 1) * e, weights.outputNorm!, into: s.normed, count: 1)
            plan.multiply(weights.output!, plan.prepareRows(last, columns: e, count: 1), 1, into: out)
            adapters?.applyHead(last, 1, into: out)
        case .everyTokenLogits(let out):
            let normed = normalize(s.hidden, weights.outputNorm!, into: s.normed, count: count)
            plan.multiply(weights.output!, plan.prepareRows(normed, columns: e, count: count), count, into: out)
            adapters?.applyHead(normed, count, into: out)
        case .logitsOf(let rows, let out):
            // The chosen rows side by side, so the head reads its weights once for all of them.
            for (i, row) in rows.enumerated() {
                normalize(s.hidden + row * e, weights.outputNorm!, into: s.normed + i * e, count: 1)
            }
            plan.multiply(weights.output!, plan.prepareRows(s.normed, columns: e, count: rows.count), rows.count,
                          into: out)
            adapters?.applyHead(s.normed, rows.count, into: out)
        }
    }

    // MARK: - The steps

    /// x = E[token] · scale (+ P[position] for learned or sinusoidal
    /// positions) (+ T[0], the token type of sentence A) (normed, where the
    /// model norms its embeddings), per token.
    private func embed(_ tokens: UnsafeBufferPointer<Int32>, positions: [Int], into s: ForwardScratch) {
        let n = config.embeddingLength, scale = config.embeddingScale
        for (t, token) in tokens.enumerated() {
            let x = s.hidden + t * n
            weights.tokenEmbedding.dequantizeRow(Int(token), into: x)
            if scale != 1 { for i in 0..<n { x[i] *= scale } }
            if let types = weights.tokenTypeEmbedding {
                types.dequantizeRow(0, into: s.normed)
                addResidual(s.normed, into: x, count: n)
            }
            switch config.positions {
            case .rotary: break  // positions enter through the rotation of q and k
            case .learned:
                weights.positionEmbedding!.dequantizeRow(positions[t], into: s.normed)
                addResidual(s.normed, into: x, count: n)
            case .sinusoidal:
                let position = Double(positions[t])
                for i in stride(from: 0, to: n, by: 2) {
                    let angle = position / pow(10_000, Double(i) / Double(n))
                    x[i] += Float(sin(angle))
                    x[i + 1] += Float(cos(angle))
                }
            }
            if let norm = weights.embeddingNorm { normalize(x, norm, into: x, count: 1) }
        }
    }

    /// Each of `count` rows of `x` normed into `out` (which may be `x`); returns `out`.
    @discardableResult
    private func normalize(_ x: UnsafePointer<Float>, _ norm: Norm, into out: UnsafeMutablePointer<Float>,
                           count: Int) -> UnsafePointer<Float> {
        let n = config.embeddingLength, epsilon = config.normEpsilon
        for t in 0..<count {
            switch config.normalization {
            case .rms: rmsNorm(x + t * n, weight: norm.weight, epsilon: epsilon, into: out + t * n, count: n)
            case .layer: layerNorm(x + t * n, weight: norm.weight, bias: norm.bias, epsilon: epsilon, into: out + t * n, count: n)
            }
        }
        return UnsafePointer(out)
    }

    /// RMSNorm of each of `heads` consecutive head-dimension slices of `x`, in place (nothing without a norm).
    private func normalizeHeads(_ x: UnsafeMutablePointer<Float>, _ norm: Norm?, heads: Int) {
        guard let norm else { return }
        let d = config.headDimension
        for head in 0..<heads {
            rmsNorm(x + head * d, weight: norm.weight, epsilon: config.normEpsilon, into: x + head * d, count: d)
        }
    }

    /// Adds a projection's bias (if it has one) to each of `count` output rows.
    private func addBias(_ projection: Projection, to out: UnsafeMutablePointer<Float>, count: Int) {
        guard let bias = projection.bias else { return }
        SwiftletCore.addBias(bias, to: out, rows: count, columns: projection.matrix.rows)
    }

    private func addResidual(_ delta: UnsafePointer<Float>, into x: UnsafeMutablePointer<Float>, count: Int) {
        for i in 0..<count { x[i] += delta[i] }
    }

    /// RoPE on every token's query and key heads with the cos/sin pairs in
    /// `rotation` (nothing for other position encodings).
    private func rotate(_ s: ForwardScratch, count: Int, rotation rotations: UnsafePointer<Float>) {
        guard case .rotary(let pairing, _) = config.positions else { return }
        let c = config
        for t in 0..<count {
            let rotation = rotations + t * c.headDimension
            applyRotary(s.query + t * c.queryLength, heads: c.headCount, headDimension: c.headDimension,
                        rotation: rotation, pairing: pairing)
            applyRotary(s.key + t * c.kvLength, heads: c.kvHeadCount, headDimension: c.headDimension,
                        rotation: rotation, pairing: pairing)
        }
    }

    /// Rotates a cached key (one head's `headDimension` values) of `layer` by
    /// `distance` positions: what moving it in the cache takes, as RoPE
    /// composes (R(p + δ) = R(δ)·R(p)). Nil for models without rotary positions.
    func keyRotation(movingBy distance: Int) -> ((_ layer: Int, _ key: UnsafeMutablePointer<Float>) -> Void)? {
        guard case .rotary(let pairing, _) = config.positions else { return nil }
        let d = config.headDimension
        var global = [Float](repeating: 0, count: d), window = [Float](repeating: 0, count: d)
        global.withUnsafeMutableBufferPointer { fillRotation($0.baseAddress!, inverseFrequencies, positions: [distance]) }
        window.withUnsafeMutableBufferPointer {
            fillRotation($0.baseAddress!, windowInverseFrequencies, positions: [distance])
        }
        return { [config] layer, key in
            applyRotary(key, heads: 1, headDimension: d, rotation: config.window(layer: layer) == nil ? global : window,
                        pairing: pairing)
        }
    }

    /// cos/sin of position × frequency for each token's position and each pair.
    private func fillRotation(_ rotation: UnsafeMutablePointer<Float>, _ inverseFrequencies: [Double],
                              positions: [Int]) {
        let d = config.headDimension
        for (t, p) in positions.enumerated() {
            let position = Double(p)
            for (i, frequency) in inverseFrequencies.enumerated() {
                let angle = position * frequency
                rotation[t * d + 2 * i] = Float(cos(angle))
                rotation[t * d + 2 * i + 1] = Float(sin(angle))
            }
        }
    }
}
