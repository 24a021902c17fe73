/// The classes regular expressions name (see RegexGrammar).
extension ScalarSet {
    /// Printable ASCII, the universe of the negated classes whose meaning
    /// differs between regex engines beyond ASCII (see RegexGrammar).
    static let printableASCII = ScalarSet(ranges: [0x20...0x7E])
    static let digits = ScalarSet(ranges: [0x30...0x39])
    static let wordCharacters = ScalarSet(ranges: [0x30...0x39, 0x41...0x5A, 0x5F...0x5F, 0x61...0x7A])
    /// The ASCII white space every regex engine agrees on: \t \n \v \f \r and space.
    static let whiteSpace = ScalarSet(ranges: [0x09...0x0D, 0x20...0x20])
    /// Everything \s matches in ECMA 262 or in Python's `re`: what \S must leave out.
    static let anyWhiteSpace = ScalarSet(ranges: [
        0x09...0x0D, 0x1C...0x20, 0x85...0x85, 0xA0...0xA0, 0x1680...0x1680, 0x2000...0x200A,
        0x2028...0x2029, 0x202F...0x202F, 0x205F...0x205F, 0x3000...0x3000, 0xFEFF...0xFEFF,
    ])
}

/// How the characters of a JSON string's *content* are spelled in the JSON
/// text, as GBNF: what a `const` string, a property name or a `pattern`
/// becomes between the quotes.
///
/// A character is accepted as JSON writes it (`"` as \", `\` as \\, the
/// controls with a short escape as \b \f \n \r \t, the other controls as
/// \u00XX) and, above ASCII, also as the \u escape Python's `json.dumps`
/// writes by default (`ensure_ascii`). Other escapes of the same character
/// (\u0041 for A, \/ for /) are not accepted: a grammar constrains what is
/// generated, and one or two spellings suffice for that.
enum JSONStringContent {
    /// The short escapes of JSON, by the character they stand for.
    static let shortEscapes: [(scalar: UInt32, spelling: String)] = [
        (0x22, #"\""#), (0x5C, #"\\"#), (0x08, #"\b"#), (0x0C, #"\f"#), (0x0A, #"\n"#), (0x0D, #"\r"#), (0x09, #"\t"#),
    ]

    /// The characters JSON writes as they are in a string.
    static let unescaped = ScalarSet.all.subtracting(
        ScalarSet(ranges: [0x00...0x1F, 0x22...0x22, 0x5C...0x5C]))

    /// GBNF elements (to be written in sequence) matching `text` as JSON string content.
    static func literal(_ text: String) -> [String] {
        var elements: [String] = []
        var plain = ""
        func flush() {
            if !plain.isEmpty { elements.append(GBNFSpelling.literal(plain)); plain = "" }
        }
        for scalar in text.unicodeScalars {
            if scalar.value >= 0x20 && scalar.value < 0x7F && scalar != "\"" && scalar != "\\" {
                plain.unicodeScalars.append(scalar)
            } else if let short = shortEscapes.first(where: { $0.scalar == scalar.value }) {
                plain += short.spelling
            } else if scalar.value < 0x20 {
                plain += "\\u00" + (scalar.value < 0x10 ? "0" : "") + String(scalar.value, radix: 16)
            } else if scalar.value == 0x7F {
                plain.unicodeScalars.append(scalar)
            } else {
                flush()
                elements.append(nonASCII(scalar.value))
            }
        }
        flush()
        return elements
    }

    /// A character above ASCII: raw, or as \u escapes (a surrogate pair above
    /// U+FFFF), hex digits in either case.
    static func nonASCII(_ value: UInt32) -> String {
        var escaped: [String] = []
        let units: [UInt32] = value > 0xFFFF
            ? [0xD800 + ((value - 0x10000) >> 10), 0xDC00 + ((value - 0x10000) & 0x3FF)]
            : [value]
        for unit in units {
            escaped.append(#""\\u""#)
            let hex = String(unit, radix: 16)
            for digit in String(repeating: "0", count: 4 - hex.count) + hex {
                escaped.append(digit.isLetter ? "[\(digit)\(digit.uppercased())]" : "\"\(digit)\"")
            }
        }
        let raw = GBNFSpelling.literal(String(Character(Unicode.Scalar(value)!)))
        return "(" + raw + " | " + escaped.joined(separator: " ") + ")"
    }

    /// One GBNF element matching any character of `set` as JSON string
    /// content: raw where JSON allows it, else by its short escape, and above
    /// ASCII also as a \u escape (a surrogate pair only when the set holds
    /// every character above U+FFFF: patterns rarely list some of them).
    /// Controls without a short escape are left out (never generated). Nil
    /// when nothing is left.
    static func element(for characters: ScalarSet) -> String? {
        let set = characters.subtracting(ScalarSet(ranges: [0xD800...0xDFFF]))
        var alternatives: [String] = []
        let raw = set.intersection(unescaped)
        if !raw.isEmpty { alternatives.append(characterClass(raw)) }
        for short in shortEscapes where set.contains(short.scalar) {
            alternatives.append(GBNFSpelling.literal(short.spelling))
        }
        var escaped: [String] = []
        for range in set.intersection(ScalarSet(ranges: [0x80...0xFFFF])).ranges {
            escaped.append(JSONSchemaIntegerRange.sameLength(hexDigits(range.lowerBound)[...], hexDigits(range.upperBound)[...],
                                                              base: 16, digits: hexDigitClass))
        }
        if set.intersection(ScalarSet(ranges: [0x10000...0x10FFFF])).ranges == [0x10000...0x10FFFF] {
            escaped.append(#"[dD] [89abAB] [0-9a-fA-F]{2} "\\u" [dD] [c-fC-F] [0-9a-fA-F]{2}"#)
        }
        if !escaped.isEmpty { alternatives.append(#""\\u" "# + GBNFSpelling.group(escaped)) }
        return alternatives.isEmpty ? nil : GBNFSpelling.group(alternatives)
    }

    /// The four hex digits of a code point up to U+FFFF.
    private static func hexDigits(_ value: UInt32) -> [Int] {
        [12, 8, 4, 0].map { Int((value >> $0) & 0xF) }
    }

    /// Hex digits from `from` to `to` in either case.
    private static func hexDigitClass(_ from: Int, _ to: Int) -> String {
        let symbols = Array("0123456789abcdef")
        if from == to && from < 10 { return "\"\(symbols[from])\"" }
        var out = "["
        if from < 10 { out += from == min(to, 9) ? "\(from)" : "\(from)-\(min(to, 9))" }
        if to >= 10 {
            let low = max(from, 10), high = to
            for letters in [symbols, Array("0123456789ABCDEF")] {
                out += low == high ? "\(letters[low])" : "\(letters[low])-\(letters[high])"
            }
        }
        return out + "]"
    }

    /// The shorter of the class listing `set` and the negated class listing
    /// what it leaves out (the surrogates, never in UTF-8 text, are in neither).
    static func characterClass(_ set: ScalarSet) -> String {
        var positive: [ClosedRange<UInt32>] = []
        for range in set.ranges {
            if let last = positive.last, last.upperBound == 0xD7FF, range.lowerBound == 0xE000 {
                positive[positive.count - 1] = last.lowerBound...range.upperBound
            } else {
                positive.append(range)
            }
        }
        let positiveText = GBNFSpelling.characterClass(positive)
        let excluded = ScalarSet.all.subtracting(set).ranges
        if excluded.isEmpty { return positiveText }
        let negativeText = GBNFSpelling.characterClass(excluded, negated: true)
        return negativeText.utf8.count < positiveText.utf8.count ? negativeText : positiveText
    }
}
