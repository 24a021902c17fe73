/// Finds a token id from the token's text as the vocabulary spells it.
///
/// Why a custom table: building the merge table looks up ~150,000 strings
/// (both halves and the result of every merge). A Swift `[String: Int32]`
/// hashes with Unicode normalization and compares canonically equivalent
/// strings as equal; token texts must match byte for byte. This open-addressing
/// table hashes raw UTF-8 (FNV-1a) over one shared byte buffer instead.
struct TokenTextIndex {
    /// The UTF-8 text of every token, concatenated; token `i` is
    /// `text[offsets[i]..<offsets[i + 1]]`.
    private let text: [UInt8]
    private let offsets: [Int]
    /// Token id + 1 per slot (0 = empty).
    private var slots: [Int32]
    private let mask: Int

    /// The id of a token whose text duplicates an earlier token's, if any.
    private(set) var firstDuplicate: Int32?

    init(text: [UInt8], offsets: [Int]) {
        self.text = text
        self.offsets = offsets
        let tokenCount = offsets.count - 1
        var capacity = 16
        while capacity < tokenCount * 2 { capacity <<= 1 }
        slots = [Int32](repeating: 0, count: capacity)
        mask = capacity - 1

        text.withUnsafeBufferPointer { all in
            for id in 0..<tokenCount {
                let key = UnsafeBufferPointer(rebasing: all[offsets[id]..<offsets[id + 1]])
                var slot = Self.hash(key) & mask
                while slots[slot] != 0 {
                    if firstDuplicate == nil && equals(Int(slots[slot] - 1), key, all) {
                        firstDuplicate = Int32(id)
                    }
                    slot = (slot + 1) & mask
                }
                slots[slot] = Int32(id + 1)
            }
        }
    }

    /// The id of the first token spelled `key`, or nil.
    func find(_ key: UnsafeBufferPointer<UInt8>) -> Int32? {
        text.withUnsafeBufferPointer { all in
            var slot = Self.hash(key) & mask
            while slots[slot] != 0 {
                let id = Int(slots[slot] - 1)
                if equals(id, key, all) { return Int32(id) }
                slot = (slot + 1) & mask
            }
            return nil
        }
    }

    func find(_ key: [UInt8]) -> Int32? {
        key.withUnsafeBufferPointer { find($0) }
    }

    private func equals(_ id: Int, _ key: UnsafeBufferPointer<UInt8>, _ all: UnsafeBufferPointer<UInt8>) -> Bool {
        let start = offsets[id]
        let length = offsets[id + 1] - start
        guard length == key.count else { return false }
        for index in 0..<length where all[start + index] != key[index] { return false }
        return true
    }

    private static func hash(_ key: UnsafeBufferPointer<UInt8>) -> Int {
        var hash: UInt64 = 0xCBF2_9CE4_8422_2325
        for byte in key {
            hash = (hash ^ UInt64(byte)) &* 0x0000_0100_0000_01B3
        }
        // Fold the high bits in: the table index uses only the low ones.
        return Int(truncatingIfNeeded: hash ^ (hash >> 29))
    }
}
