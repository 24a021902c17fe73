/// The LoRA adapters attached to a context, each with its scale, as the
/// forward pass applies them: after a product W·x (+ b), for each adapter
/// with a pair on it, y += factor · B·(A·x) in fp32, unmerged (the base
/// weights stay int8, mapped and shared), with factor = scale · alpha / r, or
/// the scale alone for an adapter without alpha (as llama.cpp applies them).
/// Built once per set with its scratch, so the pass never allocates; the
/// pass without adapters does not reach this type at all.
///
/// The arithmetic is per token and the same for every batch size (a batch
/// gives the logits its tokens give one by one, as the int8 products do):
/// t = factor·A·x as rank dot products sharing their loads of x, then y +=
/// Σ t[j]·Bᵀ[j] as contiguous multiply-adds; large batches split their
/// tokens across the workers. Rank 8 on SmolLM2-135M's q/k/v/o: 31 thousand
/// multiply-adds per token per layer beside 3.5 million int8 ones, but 3.7 MB
/// of fp32 pairs read per generated token beside 80 MB of weights (cblas_sgemm
/// for these skinny products cost 15% of prompt and generation speed; these
/// loops 0-6% of prompt speed and 9-11% of generation speed, measured).
final class AttachedAdapters {
    /// One adapter's term on one product.
    private struct Term {
        let pair: LowRankPair
        let factor: Float
    }

    /// Keeps the pairs' storage alive.
    private let adapters: [LoRAAdapter]
    /// Per layer, per AdaptedProjection.rawValue: the terms on that product.
    private let blocks: [[[Term]]]
    private let head: [Term]
    /// factor·A·x for up to `batchCapacity` tokens at the largest rank.
    private let reduced: ArenaBuffer<Float>
    private let pool: WorkerPool
    /// Batches of at least this many tokens are split across the workers
    /// (one token's terms take well under a microsecond: fewer are not worth a dispatch).
    private static let parallelTokens = 16

    /// Nil for a set with nothing to apply (empty, or every scale 0), so the
    /// pass runs exactly as without adapters.
    init?(_ entries: [(adapter: LoRAAdapter, scale: Float)], layerCount: Int, batchCapacity: Int, arena: Arena,
          pool: WorkerPool) throws {
        adapters = entries.map(\.adapter)
        var blocks = [[[Term]]](repeating: Array(repeating: [], count: AdaptedProjection.allCases.count),
                                count: layerCount)
        var head: [Term] = []
        var rank = 0
        for (adapter, scale) in entries where scale != 0 {
            // llama.cpp's llama_adapter_lora_weight::get_scale: alpha / r per pair, r = the pair's rank.
            func term(_ pair: LowRankPair) -> Term {
                Term(pair: pair, factor: adapter.alpha != 0 ? scale * adapter.alpha / Float(pair.rank) : scale)
            }
            for (layer, pairs) in adapter.blocks.enumerated() {
                for (projection, pair) in pairs.enumerated() {
                    if let pair { blocks[layer][projection].append(term(pair)) }
                }
            }
            if let pair = adapter.head { head.append(term(pair)) }
            rank = max(rank, adapter.rank)
        }
        guard rank > 0 else { return nil }
        self.blocks = blocks
        self.head = head
        self.pool = pool
        reduced = try ArenaBuffer<Float>(count: batchCapacity * rank, in: arena)
    }

    /// y += Σ factor · x·Aᵀ·Bᵀ for `count` rows of x (the product's float
    /// input, `pair.inputs` wide) and of y (`pair.outputs` wide).
    func apply(_ layer: Int, _ projection: AdaptedProjection, _ x: UnsafePointer<Float>, _ count: Int,
               into y: UnsafeMutablePointer<Float>) {
        for term in blocks[layer][projection.rawValue] { add(term, x, count, into: y) }
    }

    /// The same for the head (output.weight).
    func applyHead(_ x: UnsafePointer<Float>, _ count: Int, into y: UnsafeMutablePointer<Float>) {
        for term in head { add(term, x, count, into: y) }
    }

    /// The gate and up terms of `layer` as the gated feed-forward applies
    /// them, between its products and its activation; nil when it has none.
    func gateAndUp(_ layer: Int, _ x: UnsafePointer<Float>, _ count: Int)
        -> ((_ gate: UnsafeMutablePointer<Float>, _ up: UnsafeMutablePointer<Float>) -> Void)? {
        let gates = blocks[layer][AdaptedProjection.gate.rawValue], ups = blocks[layer][AdaptedProjection.up.rawValue]
        if gates.isEmpty && ups.isEmpty { return nil }
        return { [self] gate, up in
            for term in gates { add(term, x, count, into: gate) }
            for term in ups { add(term, x, count, into: up) }
        }
    }

    private func add(_ term: Term, _ x: UnsafePointer<Float>, _ count: Int, into y: UnsafeMutablePointer<Float>) {
        let p = term.pair, factor = term.factor, t = reduced.pointer
        let work = { (tokens: Range<Int>) in
            for token in tokens {
                Self.addLowRank(p, factor, x + token * p.inputs, t + token * p.rank, into: y + token * p.outputs)
            }
        }
        if count >= Self.parallelTokens { pool.parallelFor(count, work) } else { work(0..<count) }
    }

    /// One token: t = factor·A·x (rank values), then y += Σ t[j]·Bᵀ[j].
    private static func addLowRank(_ p: LowRankPair, _ factor: Float, _ x: UnsafePointer<Float>,
                                   _ t: UnsafeMutablePointer<Float>, into y: UnsafeMutablePointer<Float>) {
        var j = 0
        while j + 4 <= p.rank {
            let sums = dot4(p.a + j * p.inputs, rowStride: p.inputs, x, p.inputs) * factor
            for k in 0..<4 { t[j + k] = sums[k] }
            j += 4
        }
        while j < p.rank {
            t[j] = factor * dot(p.a + j * p.inputs, x, p.inputs)
            j += 1
        }
        j = 0
        while j + 4 <= p.rank {
            addRows4(SIMD4(t[j], t[j + 1], t[j + 2], t[j + 3]), p.bTransposed + j * p.stride, rowStride: p.stride,
                     into: y, p.outputs)
            j += 4
        }
        while j < p.rank {
            addRows4(SIMD4(t[j], 0, 0, 0), p.bTransposed + j * p.stride, rowStride: 0, into: y, p.outputs)
            j += 1
        }
    }
}

/// The dot products of rows 0...3 of `a` (`rowStride` apart) with `x`: x
/// loaded once for four independent accumulators. (Multiply then add, as
/// VectorKernels' dot: this module targets baseline x86-64.)
@inline(__always)
private func dot4(_ a: UnsafePointer<Float>, rowStride: Int, _ x: UnsafePointer<Float>, _ count: Int) -> SIMD4<Float> {
    var s0 = SIMD8<Float>(), s1 = SIMD8<Float>(), s2 = SIMD8<Float>(), s3 = SIMD8<Float>()
    func load(_ p: UnsafePointer<Float>) -> SIMD8<Float> { UnsafeRawPointer(p).loadUnaligned(as: SIMD8<Float>.self) }
    var i = 0
    while i + 8 <= count {
        let v = load(x + i)
        s0 += load(a + i) * v
        s1 += load(a + rowStride + i) * v
        s2 += load(a + 2 * rowStride + i) * v
        s3 += load(a + 3 * rowStride + i) * v
        i += 8
    }
    var sums = SIMD4(s0.sum(), s1.sum(), s2.sum(), s3.sum())
    while i < count {
        sums += SIMD4(a[i], a[rowStride + i], a[2 * rowStride + i], a[3 * rowStride + i]) * x[i]
        i += 1
    }
    return sums
}

/// y += w[0]·b[0] + w[1]·b[1] + w[2]·b[2] + w[3]·b[3], the rows b[k] `rowStride`
/// apart (a stride of 0 with w[1...3] = 0 adds one row).
@inline(__always)
private func addRows4(_ w: SIMD4<Float>, _ b: UnsafePointer<Float>, rowStride: Int,
                      into y: UnsafeMutablePointer<Float>, _ count: Int) {
    func load(_ p: UnsafePointer<Float>) -> SIMD8<Float> { UnsafeRawPointer(p).loadUnaligned(as: SIMD8<Float>.self) }
    let w0 = SIMD8(repeating: w[0]), w1 = SIMD8(repeating: w[1]), w2 = SIMD8(repeating: w[2]),
        w3 = SIMD8(repeating: w[3])
    var i = 0
    while i + 8 <= count {
        let sum = load(b + i) * w0 + load(b + rowStride + i) * w1 + load(b + 2 * rowStride + i) * w2
            + load(b + 3 * rowStride + i) * w3
        UnsafeMutableRawPointer(y + i).storeBytes(of: load(y + i) + sum, as: SIMD8<Float>.self)
        i += 8
    }
    while i < count {
        y[i] += b[i] * w[0] + b[rowStride + i] * w[1] + b[2 * rowStride + i] * w[2] + b[3 * rowStride + i] * w[3]
        i += 1
    }
}

extension InferenceContext {
    /// The most adapters one context applies at once.
    public static let maximumAdapters = 64

    /// Attaches `adapters`, each with its scale, replacing the set attached
    /// before (an empty list detaches all). A different set empties every
    /// sequence, because the cached keys and values were computed with the
    /// old weights; the identical set changes nothing. Errors
    /// (INVALID_ARGUMENT, the set unchanged): another model's adapter, one
    /// adapter twice, a scale that is not finite, more than maximumAdapters.
    public func setAdapters(_ adapters: [(adapter: LoRAAdapter, scale: Float)]) throws {
        guard adapters.count <= Self.maximumAdapters else {
            throw SwiftletError.invalidArgument("\(adapters.count) adapters are more than \(Self.maximumAdapters)")
        }
        for (i, entry) in adapters.enumerated() {
            guard entry.adapter.model === model else {
                throw SwiftletError.invalidArgument("adapter \(i) was loaded for another model")
            }
            guard entry.scale.isFinite else {
                throw SwiftletError.invalidArgument("the scale of adapter \(i) is not finite (\(entry.scale))")
            }
            if let j = adapters[..<i].firstIndex(where: { $0.adapter === entry.adapter }) {
                throw SwiftletError.invalidArgument("adapter \(i) is adapter \(j) again")
            }
        }
        if attachedAdapters.isSame(as: adapters) { return }
        let attached = try AttachedAdapters(adapters, layerCount: model.config.layerCount,
                                            batchCapacity: batchCapacity, arena: arena, pool: plan.pool)
        attachedAdapters = AdapterAttachment(entries: adapters, applied: attached)
        reset()
    }

    /// The adapters attached now, with their scales, in the order given.
    public var adapters: [(adapter: LoRAAdapter, scale: Float)] { attachedAdapters.entries }
}

/// A context's attached set: what the host gave (kept even when nothing
/// applies, so setting it again is recognised as the same set), and what
/// the forward pass applies (nil when nothing does).
struct AdapterAttachment {
    var entries: [(adapter: LoRAAdapter, scale: Float)] = []
    var applied: AttachedAdapters? = nil

    /// Whether attaching `other` changes nothing: the same adapters, in the same order, at the same scales.
    func isSame(as other: [(adapter: LoRAAdapter, scale: Float)]) -> Bool {
        entries.count == other.count
            && zip(entries, other).allSatisfy { $0.adapter === $1.adapter && $0.scale == $1.scale }
    }
}
