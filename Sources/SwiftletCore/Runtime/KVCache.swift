/// Keys and values of the evaluated positions, per layer and key/value head:
/// fp16 rows (stored as their bit patterns) of `headDimension` values. fp16
/// halves the bytes attention reads per token (see KernelTable). Each head's
/// rows are contiguous so that attention streams them front to back
/// (measured: with all heads side by side per position, a head's keys were a
/// strided walk, and generation at 512+ positions stalled on those loads).
///
/// The cache holds `sequenceCount` independent sequences of up to `capacity`
/// positions each; per layer and head, each sequence owns a region of rows
/// (sequence s starts at row `firstRow(sequence: s, layer:)`), so a token's
/// visible keys are consecutive rows and the attention kernels need no mask.
///
/// A layer that attends to every earlier position has a row per position of
/// the context. A sliding-window layer needs only its last `window`
/// positions, and keeps them in a ring (`Ring`) when that is smaller: this is
/// what bounds a long context's memory. Rows past the positions evaluated
/// hold stale data and are never read.
final class KVCache {
    /// Positions per sequence.
    let capacity: Int
    let sequenceCount: Int
    let headDimension: Int
    private let kvHeadCount: Int
    private let storage: ArenaBuffer<UInt16>
    private let layers: [Layer]
    /// Per sequence: every ring still holds all positions from here to the
    /// sequence's current one (writing position p overwrote position p − slots).
    private var oldestHeldPosition: [Int]
    /// The ring of the sliding-window layers (one window for all of them); nil without rings.
    private let ring: Ring?
    /// The sliding-window layers' window, nil for a model without them.
    let window: Int?

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
        /// The layer's first halves in `storage`: keys of each head, then
        /// values of each head; per head, the sequences' regions one after another.
        let offset: Int
        /// Rows of one sequence's region.
        let rowsPerSequence: Int
        let window: Int?
        let ring: Ring?
    }

    init(config: TransformerConfig, capacity: Int, sequenceCount: Int = 1, batchCapacity: Int, arena: Arena) throws {
        self.capacity = capacity
        self.sequenceCount = sequenceCount
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
            layers.append(Layer(offset: offset, rowsPerSequence: rows, window: window, ring: ring))
            let (halves, overflow) = (2 * kvHeadCount * rows * config.headDimension)
                .multipliedReportingOverflow(by: sequenceCount)
            guard !overflow, offset <= Int.max - halves else {
                throw SwiftletError(.outOfMemory, "a KV cache of \(sequenceCount) × \(capacity) positions is too large")
            }
            offset += halves
        }
        self.layers = layers
        ring = layers.lazy.compactMap(\.ring).first
        window = layers.lazy.compactMap(\.window).first
        oldestHeldPosition = Array(repeating: 0, count: sequenceCount)
        storage = try ArenaBuffer<UInt16>(count: offset, in: arena)
    }

    /// Row 0 of key/value head `kvHead`'s keys in `layer` (sequence 0's first
    /// row); row r is r·`headDimension` halves further.
    @inline(__always) func keys(layer: Int, kvHead: Int) -> UnsafeMutablePointer<UInt16> {
        let l = layers[layer]
        return storage.pointer + l.offset + kvHead * sequenceCount * l.rowsPerSequence * headDimension
    }

    @inline(__always) func values(layer: Int, kvHead: Int) -> UnsafeMutablePointer<UInt16> {
        let l = layers[layer]
        return storage.pointer + l.offset + (kvHeadCount + kvHead) * sequenceCount * l.rowsPerSequence * headDimension
    }

    /// The first row of `sequence`'s region in `layer` (rows count from `keys(layer:kvHead:)`).
    @inline(__always) func firstRow(sequence: Int, layer: Int) -> Int { sequence * layers[layer].rowsPerSequence }

    /// How many positions up to `position` a layer attends to: all, or its window.
    func window(layer: Int) -> Int? { layers[layer].window }

    /// The rows the token of `sequence` at `position` attends to in `layer`:
    /// `count` consecutive rows from `first`, in position order.
    @inline(__always) func visibleRows(layer: Int, sequence: Int = 0, position: Int) -> (first: Int, count: Int) {
        let l = layers[layer]
        let base = sequence * l.rowsPerSequence
        guard let window = l.window else { return (base, position + 1) }
        let oldest = max(0, position - window + 1)
        return (base + (l.ring.map { oldest % $0.slots } ?? oldest), position - oldest + 1)
    }

    /// Calls `body(firstRow, offset, count)` for the runs of consecutive rows
    /// that hold `positions` of `sequence` (at most two: a ring wraps once):
    /// rows firstRow… hold positions positions.lowerBound + offset….
    func forEachRun(layer: Int, sequence: Int = 0, positions: Range<Int>,
                    _ body: (_ firstRow: Int, _ offset: Int, _ count: Int) -> Void) {
        let base = firstRow(sequence: sequence, layer: layer)
        guard let ring = layers[layer].ring else {
            body(base + positions.lowerBound, 0, positions.count)
            return
        }
        precondition(positions.count <= ring.slots)
        let first = positions.lowerBound % ring.slots
        let head = min(positions.count, ring.slots - first)
        body(base + first, 0, head)
        if head < positions.count { body(base, head, positions.count - head) }
    }

    /// Must precede storing positions `positions` of `sequence`: it records what they overwrite.
    func willStore(sequence: Int = 0, positions: Range<Int>) {
        if let ring {
            oldestHeldPosition[sequence] = max(oldestHeldPosition[sequence], positions.upperBound - ring.slots)
        }
    }

    /// Whether evaluation of `sequence` can go on at `position` with what the
    /// cache holds: every ring still has the positions a token there would see.
    func canResume(sequence: Int = 0, at position: Int) -> Bool {
        guard let window else { return true }
        return max(0, position - window + 1) >= oldestHeldPosition[sequence]
    }

    /// The positions of a `length`-long `sequence` that `layer` holds and
    /// needs: all of them, or on a sliding-window layer those from the oldest
    /// still held (at least the window the next token sees).
    func heldPositions(layer: Int, sequence: Int, length: Int) -> Range<Int> {
        layers[layer].window == nil ? 0..<length : min(oldestHeldPosition[sequence], length)..<length
    }

    /// The key and value rows that hold `position` of `sequence` (for reading).
    func rows(layer: Int, kvHead: Int, sequence: Int, position: Int)
        -> (key: UnsafeMutablePointer<UInt16>, value: UnsafeMutablePointer<UInt16>) {
        let r = row(layer: layer, sequence: sequence, position: position), d = headDimension
        return (keys(layer: layer, kvHead: kvHead) + r * d, values(layer: layer, kvHead: kvHead) + r * d)
    }

    /// Writes `position`'s key and value rows (fp16, `headDimension` each), and a ring's mirror.
    func write(layer: Int, kvHead: Int, sequence: Int, position: Int, key: UnsafeRawPointer, value: UnsafeRawPointer) {
        let bytes = 2 * headDimension
        forEachRow(layer: layer, kvHead: kvHead, sequence: sequence, position: position) { keyRow, valueRow in
            UnsafeMutableRawPointer(keyRow).copyMemory(from: key, byteCount: bytes)
            UnsafeMutableRawPointer(valueRow).copyMemory(from: value, byteCount: bytes)
        }
    }

    /// After `sequence`'s rows from `oldest` on were written (a state
    /// loaded): the positions before it are not held.
    func setOldestHeldPosition(_ oldest: Int, sequence: Int) { oldestHeldPosition[sequence] = oldest }

    /// The last of `positions` that `layer` can hold at once: all of them, or what its ring has room for.
    func storablePositions(layer: Int, of positions: Range<Int>) -> Range<Int> {
        guard let ring = layers[layer].ring else { return positions }
        return max(positions.lowerBound, positions.upperBound - ring.slots)..<positions.upperBound
    }

    /// Forgets `sequence` (the next position written is 0), or every sequence.
    func reset(sequence: Int? = nil) {
        if let sequence {
            oldestHeldPosition[sequence] = 0
        } else {
            for s in 0..<sequenceCount { oldestHeldPosition[s] = 0 }
        }
    }

    /// Stores `count` tokens' keys and values (fp32 rows of all heads side
    /// by side, as the projections write them) at positions startPosition...
    /// of `sequence`.
    func store(keys: UnsafePointer<Float>, values: UnsafePointer<Float>, layer: Int, sequence: Int = 0,
               startPosition: Int, count: Int) {
        let d = headDimension, halvesFromFloats = KernelTable.current.halvesFromFloats
        for head in 0..<kvHeadCount {
            for t in 0..<count {
                let source = t * kvHeadCount * d + head * d
                forEachRow(layer: layer, kvHead: head, sequence: sequence, position: startPosition + t) { key, value in
                    halvesFromFloats(keys + source, key, d)
                    halvesFromFloats(values + source, value, d)
                }
            }
        }
    }

    /// The row that holds `position` of `sequence` in `layer`.
    @inline(__always) private func row(layer: Int, sequence: Int, position: Int) -> Int {
        firstRow(sequence: sequence, layer: layer) + (layers[layer].ring.map { position % $0.slots } ?? position)
    }

    /// Calls `body(keyRow, valueRow)` for the row of `position` and, on a
    /// ring, its mirror.
    @inline(__always)
    private func forEachRow(layer: Int, kvHead: Int, sequence: Int, position: Int,
                            _ body: (UnsafeMutablePointer<UInt16>, UnsafeMutablePointer<UInt16>) -> Void) {
        let d = headDimension, r = row(layer: layer, sequence: sequence, position: position)
        let keyRows = keys(layer: layer, kvHead: kvHead), valueRows = values(layer: layer, kvHead: kvHead)
        body(keyRows + r * d, valueRows + r * d)
        if let ring = layers[layer].ring, position % ring.slots < ring.window - 1 {  // the mirror after the ring
            body(keyRows + (r + ring.slots) * d, valueRows + (r + ring.slots) * d)
        }
    }

    // MARK: - Sequence operations

    /// Makes `destination` hold what `source` holds (its positions up to
    /// `length`; the caller treats `destination` as `length` long).
    /// Afterwards `canResume(sequence: destination, at: length)` says whether
    /// the copy can be continued (a ring may no longer hold a short prefix).
    func copy(sequence source: Int, to destination: Int, length: Int) {
        guard source != destination else { return }
        let d = headDimension
        for (layer, l) in layers.enumerated() {
            // A ring's region whole (its rows are not in position order), else the rows of the prefix.
            let rows = l.ring == nil ? length : l.rowsPerSequence
            let from = firstRow(sequence: source, layer: layer), to = firstRow(sequence: destination, layer: layer)
            for head in 0..<kvHeadCount {
                for base in [keys(layer: layer, kvHead: head), values(layer: layer, kvHead: head)] {
                    (base + to * d).update(from: base + from * d, count: rows * d)
                }
            }
        }
        oldestHeldPosition[destination] = oldestHeldPosition[source]
    }

    /// Forgets positions `removed` of `sequence` (which holds `length`) and
    /// moves the later ones down to close the gap, their keys rotated by
    /// `rerotate(layer, key)` (RoPE: by the negative distance moved). Returns
    /// false, changing nothing, where a ring does not hold what the moved
    /// sequence would need: the caller then evaluates the kept tokens again.
    func remove(positions removed: Range<Int>, sequence: Int, length: Int,
                rerotate: (_ layer: Int, _ key: UnsafeMutablePointer<Float>) -> Void) -> Bool {
        let shift = removed.count, newLength = length - shift
        guard shift > 0, removed.upperBound <= length else { return true }
        // Old position of the token that ends at new position p.
        func old(_ p: Int) -> Int { p < removed.lowerBound ? p : p + shift }
        if let ring {
            // The positions the next token will see, from their old places.
            let needed = max(0, newLength - ring.window + 1)..<newLength
            guard needed.allSatisfy({ old($0) >= oldestHeldPosition[sequence] }) else { return false }
        }
        let d = headDimension, kernels = KernelTable.current
        let key = UnsafeMutablePointer<Float>.allocate(capacity: d)
        defer { key.deallocate() }
        for (layer, l) in layers.enumerated() {
            // The moved positions this layer still needs, in order of their new positions.
            let moved = l.ring.map { max(removed.lowerBound, newLength - $0.window + 1) } ?? removed.lowerBound
            guard moved < newLength else { continue }
            let staging = UnsafeMutablePointer<UInt16>.allocate(capacity: 2 * (newLength - moved) * d)
            defer { staging.deallocate() }
            for head in 0..<kvHeadCount {
                // Gather first: on a ring, sources and destinations may overlap in any order.
                for p in moved..<newLength {
                    let oldRow = row(layer: layer, sequence: sequence, position: old(p))
                    let target = staging + 2 * (p - moved) * d
                    kernels.floatsFromHalves(keys(layer: layer, kvHead: head) + oldRow * d, d, 1, d, key)
                    rerotate(layer, key)
                    kernels.halvesFromFloats(key, target, d)
                    (target + d).update(from: values(layer: layer, kvHead: head) + oldRow * d, count: d)
                }
                for p in moved..<newLength {
                    let source = staging + 2 * (p - moved) * d
                    forEachRow(layer: layer, kvHead: head, sequence: sequence, position: p) { keyRow, valueRow in
                        keyRow.update(from: source, count: d)
                        valueRow.update(from: source + d, count: d)
                    }
                }
            }
        }
        if let ring { oldestHeldPosition[sequence] = max(0, newLength - ring.window + 1) }
        return true
    }
}
