extension PreTokenizer {
    /// The character classes the pre-tokenizer patterns are written in.
    ///
    /// Why: the GPT-2 pattern only asks "letter (\p{L})? number (\p{N})?
    /// whitespace (\s)? anything else?", and llama.cpp's default split also asks
    /// "punctuation (\p{P})?". Classifying each character once, with a table for
    /// ASCII, keeps the scanners simple and fast.
    enum CharacterClass: UInt8 {
        case letter
        case number
        case whitespace
        /// Anything else: symbols, marks, controls, unassigned characters, and
        /// bytes that are not valid UTF-8.
        case other

        static func of(_ scalar: Unicode.Scalar) -> CharacterClass {
            if scalar.value < 0x80 { return asciiTable[Int(scalar.value)] }
            return ofNonASCII(scalar)
        }

        private static let asciiTable: [CharacterClass] = (0..<0x80).map { ofNonASCII(Unicode.Scalar(UInt8($0))) }

        private static func ofNonASCII(_ scalar: Unicode.Scalar) -> CharacterClass {
            let properties = scalar.properties
            // White_Space is what \s means for Unicode-aware engines (Oniguruma
            // in HF tokenizers, llama.cpp's tables); no whitespace is a letter
            // or number, so the order of the tests does not matter.
            if properties.isWhitespace { return .whitespace }
            switch properties.generalCategory {
            case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter:
                return .letter
            case .decimalNumber, .letterNumber, .otherNumber:
                return .number
            default:
                return .other
            }
        }

        /// Whether `scalar` is in \p{P} (any punctuation category).
        static func isPunctuation(_ scalar: Unicode.Scalar) -> Bool {
            switch scalar.properties.generalCategory {
            case .connectorPunctuation, .dashPunctuation, .openPunctuation, .closePunctuation,
                 .initialPunctuation, .finalPunctuation, .otherPunctuation:
                return true
            default:
                return false
            }
        }
    }
}
