/// The BPE merge rules: for a pair of adjacent token ids, the merge's rank
/// (its position in `tokenizer.ggml.merges`; lower merges first) and the id
/// of the merged token.
///
/// Why keyed by ids: BPE asks "can these two neighbours merge, and how
/// early?" for every pair it sees; two 32-bit ids pack into one 64-bit key,
/// so a lookup is a multiply and a probe or two in flat arrays, with no
/// strings involved.
struct MergeTable: Sendable {
    private static let emptyKey = UInt64.max
    private var keys: [UInt64]
    /// rank << 32 | merged id, per slot.
    private var values: [UInt64]
    private let shift: UInt64

    init(expectedCount: Int) {
        var bits: UInt64 = 4
        while (1 << bits) < expectedCount * 2 { bits += 1 }
        keys = [UInt64](repeating: Self.emptyKey, count: 1 << Int(bits))
        values = [UInt64](repeating: 0, count: 1 << Int(bits))
        shift = 64 - bits
    }

    /// Adds a rule unless the pair already has one (an earlier, lower-ranked
    /// rule wins, as in llama.cpp). Returns whether it was added.
    @discardableResult
    mutating func insert(left: Int32, right: Int32, rank: Int32, merged: Int32) -> Bool {
        let key = Self.key(left, right)
        var slot = slotFor(key)
        while keys[slot] != Self.emptyKey {
            if keys[slot] == key { return false }
            slot = (slot + 1) & (keys.count - 1)
        }
        keys[slot] = key
        values[slot] = UInt64(UInt32(rank)) << 32 | UInt64(UInt32(merged))
        return true
    }

    /// The rule for `left` followed by `right`, as rank << 32 | merged id, or nil.
    @inline(__always)
    func lookup(_ left: Int32, _ right: Int32) -> UInt64? {
        let key = Self.key(left, right)
        var slot = slotFor(key)
        while true {
            let found = keys[slot]
            if found == key { return values[slot] }
            if found == Self.emptyKey { return nil }
            slot = (slot + 1) & (keys.count - 1)
        }
    }

    @inline(__always)
    private static func key(_ left: Int32, _ right: Int32) -> UInt64 {
        UInt64(UInt32(bitPattern: left)) << 32 | UInt64(UInt32(bitPattern: right))
    }

    @inline(__always)
    private func slotFor(_ key: UInt64) -> Int {
        Int(truncatingIfNeeded: (key &* 0x9E37_79B9_7F4A_7C15) >> shift)
    }
}
