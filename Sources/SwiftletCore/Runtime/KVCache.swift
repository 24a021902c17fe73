/// Keys and values of every evaluated position, per layer: fp16 rows (stored
/// as their bit patterns) of `kvLength` values, all key/value heads side by
/// side, `capacity` rows. fp16 halves the bytes attention reads per token
/// (see AttentionKernels). Positions past the context's current one hold
/// stale data and are never read.
final class KVCache {
    let capacity: Int
    let kvLength: Int
    private let storage: ArenaBuffer<UInt16>
    private let layerStride: Int

    init(config: LlamaConfig, capacity: Int, arena: Arena) throws {
        self.capacity = capacity
        self.kvLength = config.kvLength
        layerStride = capacity * config.kvLength
        storage = try ArenaBuffer<UInt16>(count: 2 * config.layerCount * layerStride, in: arena)
    }

    @inline(__always) func keys(layer: Int) -> UnsafeMutablePointer<UInt16> { storage.pointer + (2 * layer) * layerStride }
    @inline(__always) func values(layer: Int) -> UnsafeMutablePointer<UInt16> { storage.pointer + (2 * layer + 1) * layerStride }
}
