/// One step of UTF-8 decoding that never fails, for text that may be invalid.
///
/// Why a hand-written decoder: the tokenizer must accept arbitrary bytes
/// (invalid input is encoded byte by byte, never rejected) and the streaming
/// decoder must tell "invalid" from "valid but not finished yet". Invalid
/// input is cut into "maximal subparts" (Unicode §3.9, the rule Python,
/// browsers and Swift's own String use), so each becomes exactly one U+FFFD.
enum UTF8Decoding {
    enum Step {
        /// A well-formed character of `length` bytes.
        case scalar(Unicode.Scalar, length: Int)
        /// An ill-formed sequence of `length` bytes (a maximal subpart).
        case invalid(length: Int)
        /// The bytes up to the end of the buffer are a valid start of a
        /// character that needs more bytes than the buffer has.
        case truncated(length: Int)
    }

    /// Decodes the character starting at `start` (which must be in range).
    @inline(__always)
    static func step(_ bytes: UnsafeBufferPointer<UInt8>, at start: Int) -> Step {
        let lead = bytes[start]
        if lead < 0x80 { return .scalar(Unicode.Scalar(lead), length: 1) }

        // Expected length and the allowed range of the second byte; the
        // narrowed ranges exclude overlong forms, surrogates and > U+10FFFF.
        let length: Int
        var low: UInt8 = 0x80, high: UInt8 = 0xBF
        var value: UInt32
        switch lead {
        case 0xC2...0xDF: length = 2; value = UInt32(lead & 0x1F)
        case 0xE0: length = 3; value = 0; low = 0xA0
        case 0xE1...0xEC, 0xEE...0xEF: length = 3; value = UInt32(lead & 0x0F)
        case 0xED: length = 3; value = 0x0D; high = 0x9F
        case 0xF0: length = 4; value = 0; low = 0x90
        case 0xF1...0xF3: length = 4; value = UInt32(lead & 0x07)
        case 0xF4: length = 4; value = 4; high = 0x8F
        default: return .invalid(length: 1)  // 0x80-0xC1, 0xF5-0xFF never start a character
        }

        var index = start + 1
        while index < start + length {
            guard index < bytes.count else { return .truncated(length: index - start) }
            let byte = bytes[index]
            guard byte >= low && byte <= high else { return .invalid(length: index - start) }
            value = (value << 6) | UInt32(byte & 0x3F)
            low = 0x80
            high = 0xBF
            index += 1
        }
        return .scalar(Unicode.Scalar(value)!, length: length)
    }

    /// The UTF-8 bytes of U+FFFD REPLACEMENT CHARACTER.
    static let replacementCharacter: [UInt8] = [0xEF, 0xBF, 0xBD]

    /// Copies `bytes` to `output`, turning each ill-formed sequence
    /// (including a truncated one at the end) into U+FFFD.
    static func appendRepairing(_ bytes: UnsafeBufferPointer<UInt8>, to output: inout [UInt8]) {
        var index = 0
        var validStart = 0  // copy valid text in runs, not character by character
        while index < bytes.count {
            switch step(bytes, at: index) {
            case .scalar(_, let length):
                index += length
            case .invalid(let length), .truncated(let length):
                output.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[validStart..<index]))
                output.append(contentsOf: replacementCharacter)
                index += length
                validStart = index
            }
        }
        output.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[validStart..<index]))
    }
}
