/// A JSON document (RFC 8259) as the Hugging Face files hold them: config.json,
/// tokenizer.json, the safetensors header, the sentence-transformers files.
/// No Foundation (DESIGN decision 4), so the parser is our own. It is strict
/// where leniency could hide a lie: a duplicate key in an object, trailing
/// bytes, nesting deeper than `maximumDepth` and invalid UTF-8 are errors
/// (SwiftletError .invalidFile, naming the byte offset).
public indirect enum JSONValue: Sendable, Equatable {
    case null
    case bool(Bool)
    /// A number written without fraction or exponent that fits in Int.
    case integer(Int)
    case number(Double)
    case string(String)
    case array([JSONValue])
    case object(JSONObject)

    public static let maximumDepth = 128

    /// Parses `bytes`; `what` names the document in error messages.
    public static func parse(_ bytes: UnsafeRawBufferPointer, what: String) throws(SwiftletError) -> JSONValue {
        var parser = JSONParser(bytes: bytes, what: what)
        parser.skipWhitespace()
        let value = try parser.value(depth: 0)
        parser.skipWhitespace()
        guard parser.offset == bytes.count else { throw parser.failure("unexpected bytes after the document") }
        return value
    }

    public static func parse(_ text: String, what: String) throws(SwiftletError) -> JSONValue {
        let utf8 = Array(text.utf8)
        let result: Result<JSONValue, SwiftletError> = utf8.withUnsafeBytes { bytes in
            Result { () throws(SwiftletError) in try parse(bytes, what: what) }
        }
        return try result.get()
    }

    public subscript(key: String) -> JSONValue? {
        if case .object(let object) = self { return object[key] }
        return nil
    }

    public var string: String? { if case .string(let s) = self { return s }; return nil }
    public var bool: Bool? { if case .bool(let b) = self { return b }; return nil }
    public var array: [JSONValue]? { if case .array(let a) = self { return a }; return nil }
    public var object: JSONObject? { if case .object(let o) = self { return o }; return nil }
    public var isNull: Bool { self == .null }
    /// An integer, also when written as a float with no fractional part (1.0, 1e3).
    public var integer: Int? {
        switch self {
        case .integer(let i): return i
        case .number(let d): return d.rounded() == d && abs(d) < 9.0e15 ? Int(d) : nil
        default: return nil
        }
    }
    public var double: Double? {
        switch self {
        case .integer(let i): return Double(i)
        case .number(let d): return d
        default: return nil
        }
    }
}

/// A JSON object: its members in document order, and a lookup by key.
public struct JSONObject: Sendable, Equatable {
    public let members: [(key: String, value: JSONValue)]
    private let index: [String: Int]

    init(members: [(key: String, value: JSONValue)], index: [String: Int]) {
        self.members = members
        self.index = index
    }

    public subscript(key: String) -> JSONValue? { index[key].map { members[$0].value } }
    public var keys: [String] { members.map { $0.key } }
    public var count: Int { members.count }

    public static func == (a: JSONObject, b: JSONObject) -> Bool {
        a.members.count == b.members.count
            && zip(a.members, b.members).allSatisfy { $0.key == $1.key && $0.value == $1.value }
    }
}

private struct JSONParser {
    let bytes: UnsafeRawBufferPointer
    let what: String
    var offset = 0

    init(bytes: UnsafeRawBufferPointer, what: String) {
        self.bytes = bytes
        self.what = what
    }

    func failure(_ message: String) -> SwiftletError {
        .invalidFile("\(what): \(message) at byte \(offset)")
    }

    mutating func skipWhitespace() {
        while offset < bytes.count, [0x20, 0x09, 0x0A, 0x0D].contains(bytes[offset]) { offset += 1 }
    }

    mutating func value(depth: Int) throws(SwiftletError) -> JSONValue {
        guard depth < JSONValue.maximumDepth else { throw failure("nesting deeper than \(JSONValue.maximumDepth)") }
        guard offset < bytes.count else { throw failure("unexpected end of the document") }
        switch bytes[offset] {
        case UInt8(ascii: "{"): return try object(depth: depth)
        case UInt8(ascii: "["): return try array(depth: depth)
        case UInt8(ascii: "\""): return .string(try string())
        case UInt8(ascii: "t"): try literal("true"); return .bool(true)
        case UInt8(ascii: "f"): try literal("false"); return .bool(false)
        case UInt8(ascii: "n"): try literal("null"); return .null
        default: return try number()
        }
    }

    mutating func literal(_ word: String) throws(SwiftletError) {
        for byte in word.utf8 {
            guard offset < bytes.count, bytes[offset] == byte else { throw failure("unexpected character") }
            offset += 1
        }
    }

    mutating func expect(_ byte: UInt8) throws(SwiftletError) {
        skipWhitespace()
        guard offset < bytes.count, bytes[offset] == byte else {
            throw failure("expected '\(Character(Unicode.Scalar(byte)))'")
        }
        offset += 1
    }

    /// Consumes `byte` (after whitespace) if it comes next.
    mutating func take(_ byte: UInt8) -> Bool {
        skipWhitespace()
        guard offset < bytes.count, bytes[offset] == byte else { return false }
        offset += 1
        return true
    }

    mutating func object(depth: Int) throws(SwiftletError) -> JSONValue {
        offset += 1
        var members: [(key: String, value: JSONValue)] = []
        var index: [String: Int] = [:]
        if take(UInt8(ascii: "}")) { return .object(JSONObject(members: [], index: [:])) }
        repeat {
            skipWhitespace()
            guard offset < bytes.count, bytes[offset] == UInt8(ascii: "\"") else { throw failure("expected a key") }
            let keyOffset = offset
            let key = try string()
            guard index[key] == nil else {
                offset = keyOffset
                throw failure("duplicate key \"\(key)\"")
            }
            try expect(UInt8(ascii: ":"))
            skipWhitespace()
            index[key] = members.count
            members.append((key, try value(depth: depth + 1)))
        } while take(UInt8(ascii: ","))
        try expect(UInt8(ascii: "}"))
        return .object(JSONObject(members: members, index: index))
    }

    mutating func array(depth: Int) throws(SwiftletError) -> JSONValue {
        offset += 1
        var items: [JSONValue] = []
        if take(UInt8(ascii: "]")) { return .array([]) }
        repeat {
            skipWhitespace()
            items.append(try value(depth: depth + 1))
        } while take(UInt8(ascii: ","))
        try expect(UInt8(ascii: "]"))
        return .array(items)
    }

    mutating func string() throws(SwiftletError) -> String {
        offset += 1  // the opening quote
        var utf8: [UInt8] = []
        while true {
            guard offset < bytes.count else { throw failure("unterminated string") }
            let byte = bytes[offset]
            offset += 1
            switch byte {
            case UInt8(ascii: "\""):
                guard let text = String(validating: utf8, as: UTF8.self) else {
                    throw failure("invalid UTF-8 in a string")
                }
                return text
            case UInt8(ascii: "\\"):
                try escape(into: &utf8)
            case 0..<0x20:
                offset -= 1
                throw failure("unescaped control character in a string")
            default:
                utf8.append(byte)
            }
        }
    }

    mutating func escape(into utf8: inout [UInt8]) throws(SwiftletError) {
        guard offset < bytes.count else { throw failure("unterminated string") }
        let byte = bytes[offset]
        offset += 1
        switch byte {
        case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): utf8.append(byte)
        case UInt8(ascii: "b"): utf8.append(0x08)
        case UInt8(ascii: "f"): utf8.append(0x0C)
        case UInt8(ascii: "n"): utf8.append(0x0A)
        case UInt8(ascii: "r"): utf8.append(0x0D)
        case UInt8(ascii: "t"): utf8.append(0x09)
        case UInt8(ascii: "u"):
            var scalar = try hex4()
            if (0xD800..<0xDC00).contains(scalar) {
                // A high surrogate must be followed by \u and a low one.
                guard offset + 1 < bytes.count, bytes[offset] == UInt8(ascii: "\\"), bytes[offset + 1] == UInt8(ascii: "u")
                else { throw failure("unpaired surrogate") }
                offset += 2
                let low = try hex4()
                guard (0xDC00..<0xE000).contains(low) else { throw failure("unpaired surrogate") }
                scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
            } else if (0xDC00..<0xE000).contains(scalar) {
                throw failure("unpaired surrogate")
            }
            utf8.append(contentsOf: Array(String(Character(Unicode.Scalar(scalar)!)).utf8))
        default:
            offset -= 1
            throw failure("invalid escape")
        }
    }

    mutating func hex4() throws(SwiftletError) -> UInt32 {
        guard offset + 4 <= bytes.count else { throw failure("truncated \\u escape") }
        var value: UInt32 = 0
        for _ in 0..<4 {
            let byte = bytes[offset]
            let digit: UInt8
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = byte - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = byte - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = byte - UInt8(ascii: "A") + 10
            default: throw failure("invalid \\u escape")
            }
            value = value << 4 | UInt32(digit)
            offset += 1
        }
        return value
    }

    mutating func number() throws(SwiftletError) -> JSONValue {
        let start = offset
        func isDigit(_ b: UInt8) -> Bool { b >= UInt8(ascii: "0") && b <= UInt8(ascii: "9") }
        func digits(_ p: inout JSONParser) -> Int {
            let first = p.offset
            while p.offset < p.bytes.count, isDigit(p.bytes[p.offset]) { p.offset += 1 }
            return p.offset - first
        }
        if offset < bytes.count, bytes[offset] == UInt8(ascii: "-") { offset += 1 }
        let integerStart = offset
        guard digits(&self) > 0 else { offset = start; throw failure("unexpected character") }
        if bytes[integerStart] == UInt8(ascii: "0") && offset - integerStart > 1 {
            offset = start
            throw failure("a number with a leading zero")
        }
        var isInteger = true
        if offset < bytes.count, bytes[offset] == UInt8(ascii: ".") {
            offset += 1
            isInteger = false
            guard digits(&self) > 0 else { throw failure("a digit must follow the decimal point") }
        }
        if offset < bytes.count, bytes[offset] == UInt8(ascii: "e") || bytes[offset] == UInt8(ascii: "E") {
            offset += 1
            isInteger = false
            if offset < bytes.count, bytes[offset] == UInt8(ascii: "+") || bytes[offset] == UInt8(ascii: "-") { offset += 1 }
            guard digits(&self) > 0 else { throw failure("a digit must follow the exponent") }
        }
        let text = String(decoding: UnsafeRawBufferPointer(rebasing: bytes[start..<offset]), as: UTF8.self)
        if isInteger, let integer = Int(text) { return .integer(integer) }
        guard let double = Double(text), double.isFinite else { throw failure("number \(text) is out of range") }
        return .number(double)
    }
}

/// A value as error messages quote it: scalars as JSON writes them (long
/// strings cut), arrays by their first 8 items, objects by size.
extension JSONValue: CustomStringConvertible {
    public var description: String {
        switch self {
        case .null: return "null"
        case .bool(let b): return b ? "true" : "false"
        case .integer(let i): return "\(i)"
        case .number(let d): return "\(d)"
        case .string(let s): return "\"\(s.count > 40 ? String(s.prefix(40)) + "…" : s)\""
        case .array(let items):
            let shown = items.prefix(8).map(\.description).joined(separator: ", ")
            return "[\(shown)\(items.count > 8 ? ", …" : "")]"
        case .object(let object): return "an object of \(object.count) members"
        }
    }
}
