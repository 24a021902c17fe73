/// Reads GBNF text into rules. llama.cpp's format:
///
///     rule-name ::= alternative | alternative   # a comment
///
/// with "literals", [character classes], `.`, ( groups ), and the postfix
/// repetitions * + ? {m} {m,} {m,n}. A rule runs until the next `name ::=`,
/// so alternatives and sequences may continue over several lines (llama.cpp
/// wants a `|` or an open parenthesis for that; everything it reads, this
/// reads the same way). Errors name the line:column.
struct GBNFParser {
    /// Bounds a hostile text: how deep ( ) may nest and how large a
    /// repetition count may be (counts are expanded when compiled).
    static let maximumNesting = 200
    static let maximumRepetitionCount = 10_000

    private let text: [UInt8]
    private var offset = 0
    private var nesting = 0
    private let lineStarts: [Int]

    init(_ text: [UInt8]) {
        self.text = text
        var starts = [0]
        for (i, byte) in text.enumerated() where byte == UInt8(ascii: "\n") { starts.append(i + 1) }
        lineStarts = starts
    }

    static func parse(_ text: [UInt8]) throws(SwiftletError) -> [GBNFRule] {
        var parser = GBNFParser(text)
        return try parser.rules()
    }

    private mutating func rules() throws(SwiftletError) -> [GBNFRule] {
        var rules: [GBNFRule] = []
        skipSpace()
        while offset < text.count {
            let place = self.place(offset)
            guard let name = ruleName() else { throw failure("expected a rule name") }
            skipSpace()
            guard startsWith("::=") else { throw failure("expected ::= after the rule name \"\(name)\"") }
            offset += 3
            skipSpace()
            let body = try alternatives()
            if offset < text.count, text[offset] == UInt8(ascii: ")") { throw failure("unbalanced )") }
            rules.append(GBNFRule(name: name, body: body, place: place))
        }
        if rules.isEmpty { throw SwiftletError.invalidArgument("the grammar has no rules") }
        return rules
    }

    private mutating func alternatives() throws(SwiftletError) -> GBNFExpression {
        var options = [try sequence()]
        while offset < text.count, text[offset] == UInt8(ascii: "|") {
            offset += 1
            skipSpace()
            options.append(try sequence())
        }
        return options.count == 1 ? options[0] : .choice(options)
    }

    private mutating func sequence() throws(SwiftletError) -> GBNFExpression {
        var items: [GBNFExpression] = []
        while offset < text.count {
            let byte = text[offset]
            if byte == UInt8(ascii: "|") || byte == UInt8(ascii: ")") || startsNextRule() { break }
            var item = try primary()
            skipSpace()
            while let (minimum, maximum) = try repetition() {
                item = .repeated(item, min: minimum, max: maximum)
                skipSpace()
            }
            items.append(item)
        }
        return items.count == 1 ? items[0] : .sequence(items)
    }

    private mutating func primary() throws(SwiftletError) -> GBNFExpression {
        let start = offset
        switch text[offset] {
        case UInt8(ascii: "\""):
            return .literal(try literal())
        case UInt8(ascii: "["):
            return try characterClass()
        case UInt8(ascii: "."):
            offset += 1
            return .anyCharacter
        case UInt8(ascii: "("):
            nesting += 1
            guard nesting <= Self.maximumNesting else { throw failure("groups nest deeper than \(Self.maximumNesting)") }
            offset += 1
            skipSpace()
            let inner = try alternatives()
            guard offset < text.count, text[offset] == UInt8(ascii: ")") else {
                throw failure("the ( at \(place(start)) is not closed")
            }
            offset += 1
            nesting -= 1
            return inner
        default:
            guard let name = ruleName() else {
                throw failure("unexpected \(describe(text[offset])): expected a literal, [class], ., ( or a rule name")
            }
            return .rule(name: name, place: place(start))
        }
    }

    /// A postfix repetition, or nil if none follows.
    private mutating func repetition() throws(SwiftletError) -> (Int, Int?)? {
        guard offset < text.count else { return nil }
        switch text[offset] {
        case UInt8(ascii: "*"): offset += 1; return (0, nil)
        case UInt8(ascii: "+"): offset += 1; return (1, nil)
        case UInt8(ascii: "?"): offset += 1; return (0, 1)
        case UInt8(ascii: "{"): break
        default: return nil
        }
        let start = offset
        offset += 1
        skipBlanks()
        guard let minimum = try count() else { throw failure("expected a number after {") }
        skipBlanks()
        var maximum: Int? = minimum
        if offset < text.count, text[offset] == UInt8(ascii: ",") {
            offset += 1
            skipBlanks()
            maximum = try count()
            skipBlanks()
        }
        guard offset < text.count, text[offset] == UInt8(ascii: "}") else { throw failure("the { at \(place(start)) is not closed") }
        offset += 1
        if let maximum, maximum < minimum { throw failure("{\(minimum),\(maximum)}: the maximum is below the minimum", at: start) }
        return (minimum, maximum)
    }

    private mutating func count() throws(SwiftletError) -> Int? {
        let start = offset
        var value = 0
        while offset < text.count, let digit = decimalDigit(text[offset]) {
            value = value * 10 + digit
            guard value <= Self.maximumRepetitionCount else {
                throw failure("a repetition count above \(Self.maximumRepetitionCount)", at: start)
            }
            offset += 1
        }
        return offset > start ? value : nil
    }

    private mutating func literal() throws(SwiftletError) -> [UInt8] {
        let start = offset
        offset += 1
        var bytes: [UInt8] = []
        while true {
            guard offset < text.count, text[offset] != UInt8(ascii: "\n") else {
                throw failure("the literal is not terminated", at: start)
            }
            if text[offset] == UInt8(ascii: "\"") { offset += 1; return bytes }
            appendUTF8(try character(), to: &bytes)
        }
    }

    private mutating func characterClass() throws(SwiftletError) -> GBNFExpression {
        let start = offset
        offset += 1
        let negated = offset < text.count && text[offset] == UInt8(ascii: "^")
        if negated { offset += 1 }
        var ranges: [ClosedRange<UInt32>] = []
        while true {
            guard offset < text.count, text[offset] != UInt8(ascii: "\n") else {
                throw failure("the character class is not terminated", at: start)
            }
            if text[offset] == UInt8(ascii: "]") { offset += 1; break }
            let low = try character()
            var high = low
            if offset + 1 < text.count, text[offset] == UInt8(ascii: "-"), text[offset + 1] != UInt8(ascii: "]") {
                offset += 1
                high = try character()
                guard high >= low else { throw failure("the range ends below its start", at: start) }
            }
            ranges.append(low...high)
        }
        return .characterClass(ranges: ranges, negated: negated)
    }

    /// One character of a literal or class: an escape or a UTF-8 scalar.
    private mutating func character() throws(SwiftletError) -> UInt32 {
        let start = offset
        if text[offset] != UInt8(ascii: "\\") {
            guard let (scalar, length) = decodeUTF8(at: offset) else { throw failure("invalid UTF-8") }
            offset += length
            return scalar
        }
        offset += 1
        guard offset < text.count else { throw failure("an escape at the end of the text") }
        let escape = text[offset]
        offset += 1
        switch escape {
        case UInt8(ascii: "n"): return 0x0A
        case UInt8(ascii: "r"): return 0x0D
        case UInt8(ascii: "t"): return 0x09
        case UInt8(ascii: "x"): return try hexadecimalScalar(digits: 2, start)
        case UInt8(ascii: "u"): return try hexadecimalScalar(digits: 4, start)
        case UInt8(ascii: "U"): return try hexadecimalScalar(digits: 8, start)
        case UInt8(ascii: "\\"), UInt8(ascii: "\""), UInt8(ascii: "'"), UInt8(ascii: "["), UInt8(ascii: "]"),
             UInt8(ascii: "-"), UInt8(ascii: "^"), UInt8(ascii: "/"):
            return UInt32(escape)
        default:
            throw failure("unknown escape \\\(describe(escape))", at: start)
        }
    }

    private mutating func hexadecimalScalar(digits: Int, _ start: Int) throws(SwiftletError) -> UInt32 {
        var value: UInt32 = 0
        for _ in 0..<digits {
            guard offset < text.count, let digit = hexadecimalDigit(text[offset]) else {
                throw failure("the escape needs \(digits) hexadecimal digits", at: start)
            }
            value = value << 4 | UInt32(digit)
            offset += 1
        }
        guard Unicode.Scalar(value) != nil else { throw failure("the escape is not a Unicode scalar value", at: start) }
        return value
    }

    private mutating func ruleName() -> String? {
        let start = offset
        while offset < text.count, isNameByte(text[offset]) { offset += 1 }
        return offset > start ? String(decoding: text[start..<offset], as: UTF8.self) : nil
    }

    /// Whether `name ::=` starts here: the current rule ends.
    private func startsNextRule() -> Bool {
        var probe = self
        guard probe.ruleName() != nil else { return false }
        probe.skipSpace()
        return probe.startsWith("::=")
    }

    /// Skips whitespace, newlines and # comments.
    private mutating func skipSpace() {
        while offset < text.count {
            switch text[offset] {
            case UInt8(ascii: " "), UInt8(ascii: "\t"), UInt8(ascii: "\r"), UInt8(ascii: "\n"):
                offset += 1
            case UInt8(ascii: "#"):
                while offset < text.count, text[offset] != UInt8(ascii: "\n") { offset += 1 }
            default:
                return
            }
        }
    }

    private mutating func skipBlanks() {
        while offset < text.count, text[offset] == UInt8(ascii: " ") || text[offset] == UInt8(ascii: "\t") { offset += 1 }
    }

    private func startsWith(_ word: StaticString) -> Bool {
        let count = word.utf8CodeUnitCount
        guard offset + count <= text.count else { return false }
        for i in 0..<count where text[offset + i] != word.utf8Start[i] { return false }
        return true
    }

    private func decodeUTF8(at start: Int) -> (UInt32, Int)? {
        var iterator = text[start...].makeIterator()
        var decoder = UTF8()
        guard case .scalarValue(let scalar) = decoder.decode(&iterator) else { return nil }
        return (scalar.value, UTF8.width(scalar))
    }

    private func place(_ at: Int) -> SourcePlace {
        var low = 0, high = lineStarts.count - 1
        while low < high {  // the last line start at or before `at`
            let middle = (low + high + 1) / 2
            if lineStarts[middle] <= at { low = middle } else { high = middle - 1 }
        }
        return SourcePlace(line: low + 1, column: at - lineStarts[low] + 1)
    }

    private func failure(_ message: String, at: Int? = nil) -> SwiftletError {
        .invalidArgument("grammar \(place(at ?? offset)): \(message)")
    }

    private func describe(_ byte: UInt8) -> String {
        byte >= 0x21 && byte < 0x7F ? "'\(Character(Unicode.Scalar(byte)))'" : "byte 0x\(String(byte, radix: 16))"
    }
}

private func isNameByte(_ byte: UInt8) -> Bool {
    switch byte {
    case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
         UInt8(ascii: "-"), UInt8(ascii: "_"):
        return true
    default:
        return false
    }
}

private func decimalDigit(_ byte: UInt8) -> Int? {
    byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") ? Int(byte - UInt8(ascii: "0")) : nil
}

private func hexadecimalDigit(_ byte: UInt8) -> Int? {
    switch byte {
    case UInt8(ascii: "0")...UInt8(ascii: "9"): return Int(byte - UInt8(ascii: "0"))
    case UInt8(ascii: "a")...UInt8(ascii: "f"): return Int(byte - UInt8(ascii: "a")) + 10
    case UInt8(ascii: "A")...UInt8(ascii: "F"): return Int(byte - UInt8(ascii: "A")) + 10
    default: return nil
    }
}

func appendUTF8(_ scalar: UInt32, to bytes: inout [UInt8]) {
    switch scalar {
    case ..<0x80:
        bytes.append(UInt8(scalar))
    case ..<0x800:
        bytes.append(UInt8(0xC0 | scalar >> 6))
        bytes.append(UInt8(0x80 | scalar & 0x3F))
    case ..<0x10000:
        bytes.append(UInt8(0xE0 | scalar >> 12))
        bytes.append(UInt8(0x80 | scalar >> 6 & 0x3F))
        bytes.append(UInt8(0x80 | scalar & 0x3F))
    default:
        bytes.append(UInt8(0xF0 | scalar >> 18))
        bytes.append(UInt8(0x80 | scalar >> 12 & 0x3F))
        bytes.append(UInt8(0x80 | scalar >> 6 & 0x3F))
        bytes.append(UInt8(0x80 | scalar & 0x3F))
    }
}
