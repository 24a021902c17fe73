/// `tojson` as Hugging Face defines it: Python's
/// `json.dumps(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False)`
/// (not jinja2's HTML-escaping tojson), so tool schemas print byte-identically.
struct JinjaJSON {
    /// Charged for sorting keys (`sort_keys`).
    let budget: JinjaBudget
    var ensureASCII = false
    var indent: String? = nil
    var itemSeparator = ", "
    var keySeparator = ": "
    var sortKeys = false

    /// The JSON text, built into a bounded buffer: a list holding one long
    /// string many times fails as soon as its text passes the limit.
    func encode(_ value: JinjaValue) throws -> String {
        var out = JinjaTextBuffer()
        try write(value, level: 0, into: &out)
        return out.text
    }

    /// Recurses once per nesting level (up to JinjaLimits.maxValueNesting):
    /// kept lean, with lists and dicts in their own functions.
    private func write(_ value: JinjaValue, level: Int, into out: inout JinjaTextBuffer) throws {
        // Python's json stops at its recursion limit too.
        if level > JinjaLimits.maxValueNesting { throw JinjaFailure("maximum recursion depth exceeded while encoding a JSON object") }
        switch value {
        case .none: try out.append("null")
        case .bool(let b): try out.append(b ? "true" : "false")
        case .int(let i): try out.append(String(i))
        case .float(let d): try out.append(Self.float(d))
        case .string(let s): try out.append(try quote(s))
        case .list(let items): try writeList(items, level: level, into: &out)
        case .dict(let dict): try writeDict(dict, level: level, into: &out)
        default:
            throw JinjaFailure("Object of type \(value.typeName) is not JSON serializable")
        }
    }

    @inline(never)
    private func writeList(_ items: [JinjaValue], level: Int, into out: inout JinjaTextBuffer) throws {
        if items.isEmpty { return try out.append("[]") }
        let (inner, outer) = try indentation(level)
        try out.append("[")
        for (i, item) in items.enumerated() {
            if i > 0 { try out.append(itemSeparator) }
            try out.append(inner)
            try write(item, level: level + 1, into: &out)
        }
        try out.append(outer)
        try out.append("]")
    }

    @inline(never)
    private func writeDict(_ dict: JinjaDict, level: Int, into out: inout JinjaTextBuffer) throws {
        if dict.entries.isEmpty { return try out.append("{}") }
        var entries = dict.entries
        if sortKeys { entries = try jinjaStableSorted(entries) { try JinjaOperators.less($0.key, $1.key, budget) } }
        let (inner, outer) = try indentation(level)
        try out.append("{")
        for (i, entry) in entries.enumerated() {
            if i > 0 { try out.append(itemSeparator) }
            try out.append(inner)
            try out.append(try quote(try Self.key(entry.key)))
            try out.append(keySeparator)
            try write(entry.value, level: level + 1, into: &out)
        }
        try out.append(outer)
        try out.append("}")
    }

    /// What goes before each item and before the closing bracket: nothing
    /// without `indent`, else a newline and the indent per level.
    private func indentation(_ level: Int) throws -> (inner: String, outer: String) {
        guard let indent else { return ("", "") }
        // Measured before it is built: the indent string may be long.
        try JinjaLimits.checkString(byteCount: indent.utf8.count * (level + 1))
        return ("\n" + PythonString.repeated(indent, count: level + 1), "\n" + PythonString.repeated(indent, count: level))
    }

    /// Python's json coerces these key types to strings; others are errors.
    private static func key(_ key: JinjaValue) throws -> String {
        switch key {
        case .string(let s): return s
        case .int(let i): return String(i)
        case .float(let d): return float(d)
        case .bool(let b): return b ? "true" : "false"
        case .none: return "null"
        default: throw JinjaFailure("keys must be str, int, float, bool or None, not \(key.typeName)")
        }
    }

    private static func float(_ d: Double) -> String {
        if d.isNaN { return "NaN" }
        if d.isInfinite { return d < 0 ? "-Infinity" : "Infinity" }
        return PythonString.floatRepr(d)
    }

    private func quote(_ s: String) throws -> String {
        try JinjaLimits.checkString(byteCount: s.utf8.count)
        if !ensureASCII {
            // Only ASCII is escaped: done on the bytes, fast for long strings.
            return try PythonString.escapingASCII(s, prefix: "\"", suffix: "\"") { byte in
                switch byte {
                case 0x22: return "\\\""
                case 0x5C: return "\\\\"
                case 0x0A: return "\\n"
                case 0x0D: return "\\r"
                case 0x09: return "\\t"
                case 0x08: return "\\b"
                case 0x0C: return "\\f"
                case ..<0x20: return "\\u" + PythonString.hex(UInt32(byte), width: 4)
                default: return nil
                }
            }
        }
        // ensure_ascii: code point by code point, up to 12 bytes each, measured as it grows.
        try budget.chargeCodePointWork(s)
        var out = "\""
        for c in s.unicodeScalars {
            if out.utf8.count > JinjaLimits.maxStringBytes { try JinjaLimits.checkString(byteCount: out.utf8.count) }
            switch c {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case "\u{08}": out += "\\b"
            case "\u{0C}": out += "\\f"
            default:
                if c.value < 0x20 || (ensureASCII && c.value > 0x7E) {
                    if c.value > 0xFFFF {
                        // UTF-16 surrogate pair, as Python writes it.
                        let v = c.value - 0x10000
                        out += "\\u" + PythonString.hex(0xD800 + (v >> 10), width: 4)
                        out += "\\u" + PythonString.hex(0xDC00 + (v & 0x3FF), width: 4)
                    } else {
                        out += "\\u" + PythonString.hex(c.value, width: 4)
                    }
                } else {
                    out.unicodeScalars.append(c)
                }
            }
        }
        return out + "\""
    }
}

/// Python's `sorted` is stable; a tie-break on the original index makes any
/// comparison sort stable too.
func jinjaStableSorted<T>(_ items: [T], by less: (T, T) throws -> Bool) throws -> [T] {
    let indexed = Array(items.enumerated())
    return try indexed.sorted { a, b in
        if try less(a.element, b.element) { return true }
        if try less(b.element, a.element) { return false }
        return a.offset < b.offset
    }.map(\.element)
}
