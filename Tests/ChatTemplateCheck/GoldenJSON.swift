/// Just enough JSON to read the golden file (no Foundation).
enum GoldenJSON {
    case null, bool(Bool), number(Double), string(String), array([GoldenJSON]), object([String: GoldenJSON])

    subscript(key: String) -> GoldenJSON? { if case .object(let o) = self { return o[key] } else { return nil } }
    var string: String? { if case .string(let s) = self { return s } else { return nil } }
    var array: [GoldenJSON]? { if case .array(let a) = self { return a } else { return nil } }
    var bool: Bool? { if case .bool(let b) = self { return b } else { return nil } }

    static func parse(_ text: String) throws -> GoldenJSON {
        var parser = Parser(bytes: Array(text.utf8))
        return try parser.value()
    }

    struct ParseError: Error { let offset: Int }

    struct Parser {
        let bytes: [UInt8]
        var i = 0

        mutating func skip() { while i < bytes.count, [0x20, 0x0A, 0x0D, 0x09].contains(bytes[i]) { i += 1 } }

        mutating func value() throws -> GoldenJSON {
            skip()
            guard i < bytes.count else { throw ParseError(offset: i) }
            switch bytes[i] {
            case UInt8(ascii: "{"):
                i += 1
                var object: [String: GoldenJSON] = [:]
                skip()
                if bytes[i] == UInt8(ascii: "}") { i += 1; return .object(object) }
                while true {
                    skip()
                    guard case .string(let key) = try value() else { throw ParseError(offset: i) }
                    skip()
                    guard bytes[i] == UInt8(ascii: ":") else { throw ParseError(offset: i) }
                    i += 1
                    object[key] = try value()
                    skip()
                    if bytes[i] == UInt8(ascii: ",") { i += 1; continue }
                    guard bytes[i] == UInt8(ascii: "}") else { throw ParseError(offset: i) }
                    i += 1
                    return .object(object)
                }
            case UInt8(ascii: "["):
                i += 1
                var array: [GoldenJSON] = []
                skip()
                if bytes[i] == UInt8(ascii: "]") { i += 1; return .array(array) }
                while true {
                    array.append(try value())
                    skip()
                    if bytes[i] == UInt8(ascii: ",") { i += 1; continue }
                    guard bytes[i] == UInt8(ascii: "]") else { throw ParseError(offset: i) }
                    i += 1
                    return .array(array)
                }
            case UInt8(ascii: "\""):
                return .string(try string())
            case UInt8(ascii: "t"): i += 4; return .bool(true)
            case UInt8(ascii: "f"): i += 5; return .bool(false)
            case UInt8(ascii: "n"): i += 4; return .null
            default:
                let start = i
                while i < bytes.count, "+-0123456789.eE".utf8.contains(bytes[i]) { i += 1 }
                guard let d = Double(String(decoding: bytes[start..<i], as: UTF8.self)) else { throw ParseError(offset: start) }
                return .number(d)
            }
        }

        mutating func hex4() throws -> UInt32 {
            guard i + 4 <= bytes.count, let v = UInt32(String(decoding: bytes[i..<(i + 4)], as: UTF8.self), radix: 16) else {
                throw ParseError(offset: i)
            }
            i += 4
            return v
        }

        mutating func string() throws -> String {
            i += 1
            var out: [UInt8] = []
            while i < bytes.count, bytes[i] != UInt8(ascii: "\"") {
                if bytes[i] != UInt8(ascii: "\\") { out.append(bytes[i]); i += 1; continue }
                i += 1
                let e = bytes[i]
                i += 1
                switch e {
                case UInt8(ascii: "n"): out.append(0x0A)
                case UInt8(ascii: "t"): out.append(0x09)
                case UInt8(ascii: "r"): out.append(0x0D)
                case UInt8(ascii: "b"): out.append(0x08)
                case UInt8(ascii: "f"): out.append(0x0C)
                case UInt8(ascii: "u"):
                    var v = try hex4()
                    if v >= 0xD800 && v < 0xDC00, i + 6 <= bytes.count, bytes[i] == UInt8(ascii: "\\") {
                        i += 2
                        let low = try hex4()
                        v = 0x10000 + ((v - 0xD800) << 10) + (low - 0xDC00)
                    }
                    guard let scalar = Unicode.Scalar(v) else { throw ParseError(offset: i) }
                    out.append(contentsOf: Array(String(scalar).utf8))
                default: out.append(e)
                }
            }
            i += 1
            return String(decoding: out, as: UTF8.self)
        }
    }
}
