/// Text forms of metadata values, as swiftlet_model_meta_value returns them:
/// a top-level string as it is, numbers in decimal (floats in the shortest
/// form that reads back to the same value), booleans as "true"/"false", and
/// arrays as JSON lists with strings quoted and escaped. Non-finite floats are
/// written NaN / Infinity / -Infinity, the spelling JSON parsers commonly accept.
///
/// The text is built as UTF-8 bytes and decoded once at the end: appending to
/// a String piece by piece made a 49152-token vocabulary take about a second.
extension GGUFValue {
    public func rendered() -> String {
        switch self {
        case .string(let v):
            return v
        case .array(let v):
            return v.rendered()
        default:
            var out = TextBuffer()
            out.appendScalar(self)
            return out.string
        }
    }
}

extension GGUFArray {
    /// "[e0, e1, ...]" with strings JSON-quoted.
    public func rendered() -> String {
        var out = TextBuffer()
        out.appendArray(self)
        return out.string
    }
}

/// UTF-8 bytes of rendered text.
private struct TextBuffer {
    var bytes: [UInt8] = []

    var string: String { String(decoding: bytes, as: UTF8.self) }

    mutating func append(_ text: String) {
        bytes.append(contentsOf: text.utf8)
    }

    /// A value that is not itself an array (strings JSON-quoted).
    mutating func appendScalar(_ value: GGUFValue) {
        switch value {
        case .uint8(let v): append(String(v))
        case .int8(let v): append(String(v))
        case .uint16(let v): append(String(v))
        case .int16(let v): append(String(v))
        case .uint32(let v): append(String(v))
        case .int32(let v): append(String(v))
        case .uint64(let v): append(String(v))
        case .int64(let v): append(String(v))
        case .float32(let v): appendFloat(v)
        case .float64(let v): appendFloat(v)
        case .bool(let v): append(v ? "true" : "false")
        case .string(let v): appendQuoted(v)
        case .array(let v): appendArray(v)
        }
    }

    mutating func appendArray(_ array: GGUFArray) {
        switch array {
        case .uint8(let v): appendList(v) { $0.append(String($1)) }
        case .int8(let v): appendList(v) { $0.append(String($1)) }
        case .uint16(let v): appendList(v) { $0.append(String($1)) }
        case .int16(let v): appendList(v) { $0.append(String($1)) }
        case .uint32(let v): appendList(v) { $0.append(String($1)) }
        case .int32(let v): appendList(v) { $0.append(String($1)) }
        case .uint64(let v): appendList(v) { $0.append(String($1)) }
        case .int64(let v): appendList(v) { $0.append(String($1)) }
        case .float32(let v): appendList(v) { $0.appendFloat($1) }
        case .float64(let v): appendList(v) { $0.appendFloat($1) }
        case .bool(let v): appendList(v) { $0.append($1 ? "true" : "false") }
        case .string(let v): appendList(v) { $0.appendQuoted($1) }
        case .array(let v): appendList(v) { $0.appendArray($1) }
        }
    }

    private mutating func appendList<T>(_ items: [T], _ appendItem: (inout TextBuffer, T) -> Void) {
        bytes.append(UInt8(ascii: "["))
        for index in items.indices {
            if index > 0 { bytes.append(UInt8(ascii: ",")); bytes.append(UInt8(ascii: " ")) }
            appendItem(&self, items[index])
        }
        bytes.append(UInt8(ascii: "]"))
    }

    private mutating func appendFloat<F: BinaryFloatingPoint & LosslessStringConvertible>(_ value: F) {
        if value.isNaN {
            append("NaN")
        } else if value.isInfinite {
            append(value < 0 ? "-Infinity" : "Infinity")
        } else {
            append(value.description)  // shortest text that reads back exactly
        }
    }

    /// `text` as a JSON string literal: quote, backslash and control bytes
    /// escaped; everything else (UTF-8 sequences included) copied as is.
    mutating func appendQuoted(_ text: String) {
        bytes.append(UInt8(ascii: "\""))
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "\""): bytes.append(UInt8(ascii: "\\")); bytes.append(byte)
            case UInt8(ascii: "\\"): bytes.append(UInt8(ascii: "\\")); bytes.append(byte)
            case 0x0A: bytes.append(UInt8(ascii: "\\")); bytes.append(UInt8(ascii: "n"))
            case 0x0D: bytes.append(UInt8(ascii: "\\")); bytes.append(UInt8(ascii: "r"))
            case 0x09: bytes.append(UInt8(ascii: "\\")); bytes.append(UInt8(ascii: "t"))
            case 0x08: bytes.append(UInt8(ascii: "\\")); bytes.append(UInt8(ascii: "b"))
            case 0x0C: bytes.append(UInt8(ascii: "\\")); bytes.append(UInt8(ascii: "f"))
            case 0..<0x20:
                let hexDigits = Array("0123456789abcdef".utf8)
                bytes.append(contentsOf: Array("\\u00".utf8))
                bytes.append(hexDigits[Int(byte >> 4)])
                bytes.append(hexDigits[Int(byte & 0xF)])
            default:
                bytes.append(byte)
            }
        }
        bytes.append(UInt8(ascii: "\""))
    }
}
