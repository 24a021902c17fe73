/// A 64-bit hash that is the same in every process and on every run (Swift's
/// `Hasher` is seeded per process): FNV-1a's prime over 8-byte words. It
/// identifies a model in a saved state and checksums the state's bytes: any
/// change of one word changes the result (both steps are bijections), which
/// is what catching a corrupted file needs; it is no defence against forgery.
struct StableHasher {
    private(set) var value: UInt64 = 0xcbf2_9ce4_8422_2325

    mutating func combine(_ bytes: UnsafeRawBufferPointer) {
        let words = bytes.count / 8
        for i in 0..<words { mix(bytes.loadUnaligned(fromByteOffset: i * 8, as: UInt64.self)) }
        var tail: UInt64 = UInt64(bytes.count - words * 8) << 56  // the tail's length, then its bytes
        for (k, byte) in bytes[(words * 8)...].enumerated() { tail |= UInt64(byte) << (8 * UInt64(k)) }
        mix(tail)
    }

    mutating func combine(_ text: String) {
        var text = text
        text.withUTF8 { combine(UnsafeRawBufferPointer($0)) }
    }

    mutating func combine(_ number: Int) { mix(UInt64(truncatingIfNeeded: number)) }

    private mutating func mix(_ word: UInt64) {
        value = (value ^ word) &* 0x0000_0100_0000_01b3
        value ^= value >> 29
    }
}

extension LanguageModel {
    /// What identifies this model in a saved state: a hash of its metadata
    /// (keys and values) and tensor infos (names, shapes, types, offsets).
    func computeIdentity() -> UInt64 {
        var hasher = StableHasher()
        for key in file.metadataKeys {
            hasher.combine(key)
            hasher.combine(file.metadata(key)?.rendered() ?? "")
        }
        for tensor in file.tensors {
            hasher.combine(tensor.name)
            for dimension in tensor.dimensions { hasher.combine(dimension) }
            hasher.combine(Int(tensor.type.rawValue))
            hasher.combine(tensor.offset)
        }
        return hasher.value
    }
}
