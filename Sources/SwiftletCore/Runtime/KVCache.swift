/// Keys and values of every evaluated position, per layer and key/value
/// head: fp16 rows (stored as their bit patterns) of `headDimension` values,
/// `capacity` rows per head. fp16 halves the bytes attention reads per token
/// (see KernelTable). Each head's rows are contiguous so that attention
/// streams them front to back (measured: with all heads side by side per
/// position, a head's keys were a strided walk, and generation at 512+
/// positions stalled on those loads). Positions past the context's current
/// one hold stale data and are never read.
final class KVCache {
    let capacity: Int
    let headDimension: Int
    private let kvHeadCount: Int
    private let storage: ArenaBuffer<UInt16>
    private let headStride: Int

    init(config: TransformerConfig, capacity: Int, arena: Arena) throws {
        self.capacity = capacity
        headDimension = config.headDimension
        kvHeadCount = config.kvHeadCount
        headStride = capacity * config.headDimension
        storage = try ArenaBuffer<UInt16>(count: 2 * config.layerCount * kvHeadCount * headStride, in: arena)
    }

    /// Row 0 of key/value head `kvHead`'s keys in `layer`; row p is `headDimension` halves further.
    @inline(__always) func keys(layer: Int, kvHead: Int) -> UnsafeMutablePointer<UInt16> {
        storage.pointer + ((2 * layer) * kvHeadCount + kvHead) * headStride
    }

    @inline(__always) func values(layer: Int, kvHead: Int) -> UnsafeMutablePointer<UInt16> {
        storage.pointer + ((2 * layer + 1) * kvHeadCount + kvHead) * headStride
    }

    /// Stores `count` tokens' keys and values (fp32 rows of all heads side
    /// by side, as the projections write them) at positions startPosition...
    func store(keys: UnsafePointer<Float>, values: UnsafePointer<Float>, layer: Int, startPosition: Int, count: Int) {
        let d = headDimension, halvesFromFloats = KernelTable.current.halvesFromFloats
        for head in 0..<kvHeadCount {
            let keyRows = self.keys(layer: layer, kvHead: head) + startPosition * d
            let valueRows = self.values(layer: layer, kvHead: head) + startPosition * d
            for t in 0..<count {
                let source = t * kvHeadCount * d + head * d
                halvesFromFloats(keys + source, keyRows + t * d, d)
                halvesFromFloats(values + source, valueRows + t * d, d)
            }
        }
    }
}
