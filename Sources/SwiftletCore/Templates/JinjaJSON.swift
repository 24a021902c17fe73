/// `tojson` as Hugging Face defines it: Python's
/// `json.dumps(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False)`
/// (not jinja2's HTML-escaping tojson), so tool schemas print byte-identically.
struct JinjaJSON {
    var ensureASCII = false
    var indent: String? = nil
    var itemSeparator = ", "
    var keySeparator = ": "
    var sortKeys = false

    func encode(_ value: JinjaValue, level: Int = 0) throws -> String {
        // Python's json stops at its recursion limit too.
        if level > JinjaValue.maxNesting { throw JinjaFailure("maximum recursion depth exceeded while encoding a JSON object") }
        switch value {
        case .none: return "null"
        case .bool(let b): return b ? "true" : "false"
        case .int(let i): return String(i)
        case .float(let d): return Self.float(d)
        case .string(let s): return quote(s)
        case .list(let items):
            return try container("[", "]", items, level: level) { try encode($0, level: level + 1) }
        case .dict(let dict):
            var entries = try dict.entries.map { (key: try Self.key($0.key), sortKey: $0.key, value: $0.value) }
            if sortKeys {
                entries = try jinjaStableSorted(entries) { try JinjaOperators.less($0.sortKey, $1.sortKey) }
            }
            return try container("{", "}", entries, level: level) {
                quote($0.key) + keySeparator + (try encode($0.value, level: level + 1))
            }
        default:
            throw JinjaFailure("Object of type \(value.typeName) is not JSON serializable")
        }
    }

    private func container<T>(_ open: String, _ close: String, _ items: [T], level: Int,
                              _ encodeItem: (T) throws -> String) throws -> String {
        if items.isEmpty { return open + close }
        guard let indent else {
            let parts = try items.map(encodeItem)
            try JinjaLimits.checkString(byteCount: parts.reduce(0) { $0 + $1.utf8.count } + itemSeparator.utf8.count * parts.count)
            return open + parts.joined(separator: itemSeparator) + close
        }
        try JinjaLimits.checkString(byteCount: indent.utf8.count * (level + 1))
        let inner = "\n" + String(repeating: indent, count: level + 1)
        let outer = "\n" + String(repeating: indent, count: level)
        let parts = try items.map(encodeItem)
        try JinjaLimits.checkString(byteCount: parts.reduce(0) { $0 + $1.utf8.count } + (itemSeparator.utf8.count + inner.utf8.count) * parts.count)
        return open + inner + parts.joined(separator: itemSeparator + inner) + outer + close
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

    private func quote(_ s: String) -> String {
        var out = "\""
        for c in s.unicodeScalars {
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
