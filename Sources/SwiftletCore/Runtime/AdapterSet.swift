import CSwiftletSupport

/// The LoRA adapters attached to a context, each with its scale, as the
/// forward pass applies them: after a product W·x (+ b), for each adapter
/// with a pair on it, y += factor · B·(A·x) in fp32, unmerged (the base
/// weights stay int8, mapped and shared), with factor = scale · alpha / r, or
/// the scale alone for an adapter without alpha (as llama.cpp applies them).
/// Built once per set with its scratch, so the pass never allocates; the
/// pass without adapters does not reach this type at all.
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
    /// A·x for up to `batchCapacity` tokens at the largest rank.
    private let reduced: ArenaBuffer<Float>

    /// Nil for a set with nothing to apply (empty, or every scale 0), so the
    /// pass runs exactly as without adapters.
    init?(_ entries: [(adapter: LoRAAdapter, scale: Float)], layerCount: Int, batchCapacity: Int, arena: Arena) throws {
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
        let p = term.pair, t = reduced.pointer
        // t = x·Aᵀ (count × rank), then y += factor · t·Bᵀ (count × outputs).
        slb_sgemm_a_bt(Int32(count), Int32(p.rank), Int32(p.inputs), x, Int32(p.inputs), p.a, Int32(p.inputs),
                       t, Int32(p.rank))
        slb_sgemm_a_bt_add(Int32(count), Int32(p.outputs), Int32(p.rank), term.factor, t, Int32(p.rank), p.b,
                           Int32(p.rank), y, Int32(p.outputs))
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
                                            batchCapacity: batchCapacity, arena: arena)
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
