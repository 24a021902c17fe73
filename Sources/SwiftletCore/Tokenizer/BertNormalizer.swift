@_spi(_Unicode) import Swift

/// BERT's text normalizer, as Hugging Face `tokenizers` defines it
/// (`normalizers::BertNormalizer`): clean text, space out CJK ideographs,
/// strip accents, lowercase, in that order.
///
/// Character classes follow HF's Rust definitions, read from Swift's own
/// Unicode tables (`Unicode.Scalar.Properties`): "control" is HF's
/// `is_other` (Cc, Cf, Cn, Co, Cs) minus tab, newline and carriage return;
/// "whitespace" is the White_Space property (Rust's `char::is_whitespace`).
/// HF's tables are older than Swift's, so a character assigned in a recent
/// Unicode version may be "unassigned" (removed) there and kept here.
///
/// Accents: there is no Foundation (DESIGN decision 4), and the stdlib's only
/// canonical decomposition is `String._nfd`, behind `@_spi(_Unicode)`. It is
/// the same code String comparison runs on, so it is as stable as String.
/// Only text with a scalar at or above U+00C0 (the first with a canonical
/// decomposition) pays for it.
struct BertNormalizer: Sendable, Equatable {
    var cleanText = true
    var handleChineseChars = true
    var stripAccents = true
    var lowercase = true

    /// The normalized scalars of `bytes[range]`, appended to `output`.
    /// Ill-formed UTF-8 reads as U+FFFD, which cleaning removes (HF only ever
    /// sees valid text).
    func normalize(_ bytes: UnsafeBufferPointer<UInt8>, range: Range<Int>, into output: inout [Unicode.Scalar]) {
        let start = output.count
        var needsDecomposition = false
        // Decode within the range only, so a character never reaches past it.
        let text = UnsafeBufferPointer(rebasing: bytes[..<range.upperBound])
        var index = range.lowerBound
        while index < range.upperBound {
            let scalar: Unicode.Scalar
            switch UTF8Decoding.step(text, at: index) {
            case .scalar(let decoded, let length):
                scalar = decoded
                index += length
            case .invalid(let length), .truncated(let length):
                scalar = "\u{FFFD}"
                index += length
            }
            if cleanText {
                if scalar.value == 0 || scalar.value == 0xFFFD || Self.isControl(scalar) { continue }
                if Self.isWhitespace(scalar) {
                    output.append(" ")
                    continue
                }
            }
            if handleChineseChars && Self.isChineseIdeograph(scalar) {
                output += [" ", scalar, " "]
                continue
            }
            needsDecomposition = needsDecomposition || scalar.value >= 0xC0
            output.append(scalar)
        }
        if stripAccents && needsDecomposition {
            var text = ""
            text.unicodeScalars.append(contentsOf: output[start...])
            output.removeSubrange(start...)
            for scalar in text._nfd where scalar.properties.generalCategory != .nonspacingMark {
                output.append(scalar)
            }
        }
        if lowercase {
            lowercaseInPlace(&output, from: start)
        }
    }

    private func lowercaseInPlace(_ scalars: inout [Unicode.Scalar], from start: Int) {
        var index = start
        while index < scalars.count {
            let scalar = scalars[index]
            if scalar.isASCII {
                if scalar.value >= 0x41 && scalar.value <= 0x5A { scalars[index] = Unicode.Scalar(scalar.value + 0x20)! }
                index += 1
                continue
            }
            // Full (one-to-many) mapping, as Rust's `char::to_lowercase`:
            // "İ" becomes "i" + U+0307.
            let lower = Array(scalar.properties.lowercaseMapping.unicodeScalars)
            scalars.replaceSubrange(index..<index + 1, with: lower)
            index += lower.count
        }
    }

    /// HF's `is_control`: the "Other" categories, except the three ASCII
    /// controls BERT treats as whitespace.
    static func isControl(_ scalar: Unicode.Scalar) -> Bool {
        if scalar.isASCII {
            let value = scalar.value
            return (value < 0x20 && value != 0x09 && value != 0x0A && value != 0x0D) || value == 0x7F
        }
        switch scalar.properties.generalCategory {
        case .control, .format, .unassigned, .privateUse, .surrogate: return true
        default: return false
        }
    }

    static func isWhitespace(_ scalar: Unicode.Scalar) -> Bool {
        if scalar.isASCII {
            let value = scalar.value
            return value == 0x20 || (value >= 0x09 && value <= 0x0D)
        }
        return scalar.properties.isWhitespace
    }

    /// The "Chinese character" ranges of HF's (and Google BERT's)
    /// `is_chinese_char`, kept exactly, including HF's 0x2B920 lower bound
    /// of extension E (Google's code has 0x2B820).
    static func isChineseIdeograph(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 0x4E00...0x9FFF, 0x3400...0x4DBF, 0x20000...0x2A6DF, 0x2A700...0x2B73F,
             0x2B740...0x2B81F, 0x2B920...0x2CEAF, 0xF900...0xFAFF, 0x2F800...0x2FA1F:
            return true
        default:
            return false
        }
    }
}
