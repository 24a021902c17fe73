/// GPT-2's reversible table between bytes and printable characters.
///
/// Why: byte-level BPE vocabularies must be able to hold any byte sequence,
/// yet are stored as strings (in tokenizer.json and in GGUF). GPT-2 therefore
/// writes every byte as one visible character: printable Latin-1 bytes stand
/// for themselves, and the remaining 68 bytes (controls, space, 0x7F-0xA0,
/// 0xAD) are given the characters U+0100, U+0101, ... in byte order. A space
/// is "Ġ" (U+0120), a newline "Ċ" (U+010A).
enum ByteLevelMapping {
    /// The character that stands for each byte value.
    static let scalarForByte: [Unicode.Scalar] = {
        var table = [Unicode.Scalar](repeating: "\0", count: 256)
        var nextShifted: UInt32 = 256
        for byte in 0..<256 {
            if standsForItself(UInt8(byte)) {
                table[byte] = Unicode.Scalar(UInt8(byte))
            } else {
                table[byte] = Unicode.Scalar(nextShifted)!
                nextShifted += 1
            }
        }
        return table
    }()

    /// The inverse table, indexed by scalar value; -1 where a scalar stands
    /// for no byte. Every mapped scalar is below 256 + 68.
    private static let byteForScalarValue: [Int16] = {
        var table = [Int16](repeating: -1, count: 256 + 68)
        for byte in 0..<256 {
            table[Int(scalarForByte[byte].value)] = Int16(byte)
        }
        return table
    }()

    /// The byte a vocabulary character stands for, or nil if the character
    /// is not part of the mapping.
    @inline(__always)
    static func byte(for scalar: Unicode.Scalar) -> UInt8? {
        let value = Int(scalar.value)
        guard value < byteForScalarValue.count else { return nil }
        let byte = byteForScalarValue[value]
        return byte < 0 ? nil : UInt8(byte)
    }

    /// The UTF-8 form of the character standing for `byte`, as stored in a
    /// GGUF vocabulary (one or two bytes).
    static func vocabularyText(for byte: UInt8) -> [UInt8] {
        Array(String(Character(scalarForByte[Int(byte)])).utf8)
    }

    private static func standsForItself(_ byte: UInt8) -> Bool {
        (0x21...0x7E).contains(byte) || (0xA1...0xAC).contains(byte) || (0xAE...0xFF).contains(byte)
    }
}
