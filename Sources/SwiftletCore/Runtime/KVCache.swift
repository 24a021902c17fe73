/// Keys and values of the evaluated positions, per layer and key/value head:
/// fp16 rows (stored as their bit patterns) of `headDimension` values. fp16
/// halves the bytes attention reads per token (see KernelTable). Each head's
/// rows are contiguous so that attention streams them front to back
/// (measured: with all heads side by side per position, a head's keys were a
/// strided walk, and generation at 512+ positions stalled on those loads).
///
/// A layer that attends to every earlier position has a row per position of
/// the context. A sliding-window layer needs only its last `window`
/// positions, and keeps them in a ring (`Ring`) when that is smaller: this is
/// what bounds a long context's memory. Rows past the positions evaluated
/// hold stale data and are never read.
final class KVCache {
    let capacity: Int
    let headDimension: Int
    private let kvHeadCount: Int
    private let storage: ArenaBuffer<UInt16>
    private let layers: [Layer]
    /// Every ring still holds all positions from here to the current one
    /// (writing position p overwrote position p − slots).
    private(set) var oldestHeldPosition = 0
    /// The ring of the sliding-window layers (one window for all of them); nil without rings.
    private let ring: Ring?

    /// A ring for a layer attending to the last `window` positions: position
    /// p lives in row p % slots. `slots` = window + batchCapacity − 1, so a
    /// batch's own writes never overwrite a position one of its tokens still
    /// sees. The first window − 1 rows are mirrored after the ring (rows
    /// slots…), so any `window` consecutive positions are consecutive rows
    /// and the attention kernels read them in one run.
    struct Ring {
        let slots: Int
        let window: Int
        var rows: Int { slots + window - 1 }
    }

    private struct Layer {
        /// The layer's first halves in `storage`: keys of each head, then values of each head.
        let offset: Int
        let rowsPerHead: Int
        let window: Int?
        let ring: Ring?
    }

    init(config: TransformerConfig, capacity: Int, batchCapacity: Int, arena: Arena) throws {
        self.capacity = capacity
        headDimension = config.headDimension
        kvHeadCount = config.kvHeadCount
        var layers: [Layer] = []
        var offset = 0
        for layer in 0..<config.layerCount {
            let window = config.window(layer: layer)
            var ring: Ring?
            if let window, window + batchCapacity - 1 + window - 1 < capacity {
                ring = Ring(slots: window + batchCapacity - 1, window: window)
            }
            let rows = ring?.rows ?? capacity
            layers.append(Layer(offset: offset, rowsPerHead: rows, window: window, ring: ring))
            offset += 2 * kvHeadCount * rows * config.headDimension
        }
        self.layers = layers
        ring = layers.lazy.compactMap(\.ring).first
        storage = try ArenaBuffer<UInt16>(count: offset, in: arena)
    }

    /// Row 0 of key/value head `kvHead`'s keys in `layer`; row r is r·`headDimension` halves further.
    @inline(__always) func keys(layer: Int, kvHead: Int) -> UnsafeMutablePointer<UInt16> {
        let l = layers[layer]
        return storage.pointer + l.offset + kvHead * l.rowsPerHead * headDimension
    }

    @inline(__always) func values(layer: Int, kvHead: Int) -> UnsafeMutablePointer<UInt16> {
        let l = layers[layer]
        return storage.pointer + l.offset + (kvHeadCount + kvHead) * l.rowsPerHead * headDimension
    }

    /// How many positions up to `position` a layer attends to: all, or its window.
    func window(layer: Int) -> Int? { layers[layer].window }

    /// The rows the token at `position` attends to in `layer`: `count`
    /// consecutive rows from `first`, in position order.
    @inline(__always) func visibleRows(layer: Int, position: Int) -> (first: Int, count: Int) {
        let l = layers[layer]
        guard let window = l.window else { return (0, position + 1) }
        let oldest = max(0, position - window + 1)
        return (l.ring.map { oldest % $0.slots } ?? oldest, position - oldest + 1)
    }

    /// Calls `body(firstRow, offset, count)` for the runs of consecutive rows
    /// that hold `positions` (at most two: a ring wraps once): rows firstRow…
    /// hold positions positions.lowerBound + offset….
    func forEachRun(layer: Int, positions: Range<Int>, _ body: (_ firstRow: Int, _ offset: Int, _ count: Int) -> Void) {
        guard let ring = layers[layer].ring else {
            body(positions.lowerBound, 0, positions.count)
            return
        }
        precondition(positions.count <= ring.slots)
        let first = positions.lowerBound % ring.slots
        let head = min(positions.count, ring.slots - first)
        body(first, 0, head)
        if head < positions.count { body(0, head, positions.count - head) }
    }

    /// Must precede storing positions `positions`: it records what they overwrite.
    func willStore(positions: Range<Int>) {
        if let ring { oldestHeldPosition = max(oldestHeldPosition, positions.upperBound - ring.slots) }
    }

    /// Whether evaluation can go on at `position` with what the cache holds:
    /// every ring still has the positions a token there would see.
    func canResume(at position: Int) -> Bool {
        guard let ring else { return true }
        return max(0, position - ring.window + 1) >= oldestHeldPosition
    }

    /// Forgets everything (the next position written is 0).
    func reset() { oldestHeldPosition = 0 }

    /// Stores `count` tokens' keys and values (fp32 rows of all heads side
    /// by side, as the projections write them) at positions startPosition...
    func store(keys: UnsafePointer<Float>, values: UnsafePointer<Float>, layer: Int, startPosition: Int, count: Int) {
        let d = headDimension, halvesFromFloats = KernelTable.current.halvesFromFloats
        let layerRing = layers[layer].ring  // nil on a global layer
        for head in 0..<kvHeadCount {
            let keyRows = self.keys(layer: layer, kvHead: head), valueRows = self.values(layer: layer, kvHead: head)
            for t in 0..<count {
                let source = t * kvHeadCount * d + head * d
                let position = startPosition + t
                let row = layerRing.map { position % $0.slots } ?? position
                halvesFromFloats(keys + source, keyRows + row * d, d)
                halvesFromFloats(values + source, valueRows + row * d, d)
                if let ring = layerRing, row < ring.window - 1 {  // the mirror after the ring
                    halvesFromFloats(keys + source, keyRows + (ring.slots + row) * d, d)
                    halvesFromFloats(values + source, valueRows + (ring.slots + row) * d, d)
                }
            }
        }
    }
}
