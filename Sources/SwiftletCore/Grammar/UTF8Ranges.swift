/// Character classes become byte patterns, since grammars run on UTF-8 bytes
/// (tokens may split a character). A range of scalars is cut into pieces
/// whose encodings all have the same length and differ only in a tail of
/// continuation bytes, so each piece is one sequence of byte ranges:
/// U+0080...U+07FF is [C2-DF][80-BF], for example.
enum UTF8Ranges {
    /// The byte sequences that encode exactly the scalars of `scalars`
    /// (which must hold no surrogates: they have no encoding).
    static func byteSequences(_ scalars: ScalarSet) -> [[ClosedRange<UInt8>]] {
        var sequences: [[ClosedRange<UInt8>]] = []
        let lengthLimits: [ClosedRange<UInt32>] = [0...0x7F, 0x80...0x7FF, 0x800...0xFFFF, 0x10000...0x10FFFF]
        for range in scalars.ranges {
            for (index, limits) in lengthLimits.enumerated() {
                if let piece = clamp(range, limits) { split(piece, length: index + 1, into: &sequences) }
            }
        }
        return sequences
    }

    private static func split(_ range: ClosedRange<UInt32>, length: Int, into sequences: inout [[ClosedRange<UInt8>]]) {
        let low = range.lowerBound, high = range.upperBound
        for tail in 1..<max(length, 1) {
            let mask: UInt32 = (1 << (6 * tail)) - 1
            if low & ~mask != high & ~mask {
                if low & mask != 0 {
                    split(low...(low | mask), length: length, into: &sequences)
                    split((low | mask) + 1...high, length: length, into: &sequences)
                    return
                }
                if high & mask != mask {
                    split(low...((high & ~mask) - 1), length: length, into: &sequences)
                    split((high & ~mask)...high, length: length, into: &sequences)
                    return
                }
            }
        }
        var lowBytes: [UInt8] = [], highBytes: [UInt8] = []
        appendUTF8(low, to: &lowBytes)
        appendUTF8(high, to: &highBytes)
        sequences.append(zip(lowBytes, highBytes).map { $0...$1 })
    }

    private static func clamp(_ range: ClosedRange<UInt32>, _ limits: ClosedRange<UInt32>) -> ClosedRange<UInt32>? {
        let low = max(range.lowerBound, limits.lowerBound), high = min(range.upperBound, limits.upperBound)
        return low <= high ? low...high : nil
    }
}
