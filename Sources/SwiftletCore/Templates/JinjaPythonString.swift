/// Python `str` behaviour on code points (not Swift Characters), so string
/// methods and filters match jinja2 byte-for-byte, e.g. "e\u{301}" != "é".

/// Python's `str.isspace()` / regex `\s` set.
func isPythonWhitespace(_ c: Unicode.Scalar) -> Bool {
    switch c.value {
    case 0x09...0x0D, 0x1C...0x20, 0x85, 0xA0, 0x1680, 0x2000...0x200A, 0x2028, 0x2029, 0x202F, 0x205F, 0x3000:
        return true
    default:
        return false
    }
}

/// Decodes a Jinja string literal body like Python's "unicode-escape" codec.
/// Returns nil for malformed escapes (Python raises there too).
func decodePythonEscapes(_ body: ArraySlice<Unicode.Scalar>) -> String? {
    var out = String.UnicodeScalarView()
    var i = body.startIndex
    while i < body.endIndex {
        let c = body[i]
        guard c == "\\", i + 1 < body.endIndex else {
            out.append(c)
            i += 1
            continue
        }
        let e = body[i + 1]
        switch e {
        case "\n": i += 2
        case "\\": out.append("\\"); i += 2
        case "'": out.append("'"); i += 2
        case "\"": out.append("\""); i += 2
        case "a": out.append("\u{07}"); i += 2
        case "b": out.append("\u{08}"); i += 2
        case "f": out.append("\u{0C}"); i += 2
        case "n": out.append("\n"); i += 2
        case "r": out.append("\r"); i += 2
        case "t": out.append("\t"); i += 2
        case "v": out.append("\u{0B}"); i += 2
        case "0"..."7":
            var v: UInt32 = 0
            var j = i + 1
            while j < body.endIndex, j < i + 4, let d = octalDigit(body[j]) {
                v = v * 8 + d
                j += 1
            }
            guard let s = Unicode.Scalar(v) else { return nil }
            out.append(s)
            i = j
        case "x", "u", "U":
            let count = e == "x" ? 2 : (e == "u" ? 4 : 8)
            var v: UInt32 = 0
            for k in 0..<count {
                guard i + 2 + k < body.endIndex, let d = hexDigit(body[i + 2 + k]) else { return nil }
                v = v &* 16 &+ d
            }
            guard let s = Unicode.Scalar(v) else { return nil }
            out.append(s)
            i += 2 + count
        case "N":
            return nil   // \N{NAME} needs the Unicode name table; templates don't use it
        default:
            out.append("\\")   // unknown escapes are kept verbatim, as in Python
            i += 1
        }
    }
    return String(out)
}

private func hexDigit(_ c: Unicode.Scalar) -> UInt32? {
    switch c {
    case "0"..."9": return c.value - 48
    case "a"..."f": return c.value - 87
    case "A"..."F": return c.value - 55
    default: return nil
    }
}

private func octalDigit(_ c: Unicode.Scalar) -> UInt32? {
    (c >= "0" && c <= "7") ? c.value - 48 : nil
}

/// Code-point level helpers over `[Unicode.Scalar]` (Python indexes strings by code point).
typealias PythonScalars = [Unicode.Scalar]

extension String {
    var pythonScalars: PythonScalars { Array(unicodeScalars) }
    init(pythonScalars: some Sequence<Unicode.Scalar>) {
        var view = String.UnicodeScalarView()
        view.append(contentsOf: pythonScalars)
        self.init(view)
    }
}

enum PythonString {
    /// Identical UTF-8 means identical code points (Swift's `==` would also
    /// equate canonically-equivalent strings, which Python does not).
    static func equal(_ a: String, _ b: String) -> Bool { a.utf8.elementsEqual(b.utf8) }

    /// Python orders strings by code point.
    static func less(_ a: String, _ b: String) -> Bool {
        a.unicodeScalars.lexicographicallyPrecedes(b.unicodeScalars)
    }

    static func strip(_ s: String, chars: String?, leading: Bool = true, trailing: Bool = true) -> String {
        let set = chars.map { Set($0.unicodeScalars) }
        let shouldStrip: (Unicode.Scalar) -> Bool = { c in set.map { $0.contains(c) } ?? isPythonWhitespace(c) }
        let a = s.pythonScalars
        var start = 0, end = a.count
        if leading { while start < end, shouldStrip(a[start]) { start += 1 } }
        if trailing { while end > start, shouldStrip(a[end - 1]) { end -= 1 } }
        return String(pythonScalars: a[start..<end])
    }

    /// Offsets of non-overlapping occurrences of `needle` (Python semantics; empty needle matches everywhere).
    static func find(_ haystack: PythonScalars, _ needle: PythonScalars, from: Int = 0) -> Int? {
        if needle.isEmpty { return from <= haystack.count ? from : nil }
        guard haystack.count >= needle.count else { return nil }
        var i = from
        while i + needle.count <= haystack.count {
            if haystack[i] == needle[0], haystack[i..<(i + needle.count)].elementsEqual(needle) { return i }
            i += 1
        }
        return nil
    }

    static func contains(_ haystack: String, _ needle: String) -> Bool {
        find(haystack.pythonScalars, needle.pythonScalars) != nil
    }

    static func count(_ haystack: String, _ needle: String) -> Int {
        let h = haystack.pythonScalars, n = needle.pythonScalars
        if n.isEmpty { return h.count + 1 }
        var total = 0, i = 0
        while let at = find(h, n, from: i) { total += 1; i = at + n.count }
        return total
    }

    static func hasPrefix(_ s: String, _ prefix: String) -> Bool {
        s.unicodeScalars.starts(with: prefix.unicodeScalars)
    }

    static func hasSuffix(_ s: String, _ suffix: String) -> Bool {
        s.unicodeScalars.reversed().starts(with: suffix.unicodeScalars.reversed())
    }

    static func replace(_ s: String, _ old: String, _ new: String, count limit: Int = -1) throws -> String {
        let h = s.pythonScalars, o = old.pythonScalars, n = new.pythonScalars
        // Bound the result before building it: growth is (new - old) per replacement.
        let occurrences = o.isEmpty ? h.count + 1 : PythonString.count(s, old)
        let replacements = limit < 0 ? occurrences : min(limit, occurrences)
        let (growth, overflow) = replacements.multipliedReportingOverflow(by: max(0, new.utf8.count - old.utf8.count))
        if overflow { throw JinjaFailure("string result is too large") }
        try JinjaLimits.checkString(byteCount: s.utf8.count + growth)
        var out: PythonScalars = []
        var replaced = 0
        if o.isEmpty {
            // Python inserts `new` before every code point and at the end.
            for c in h {
                if limit < 0 || replaced < limit { out += n; replaced += 1 }
                out.append(c)
            }
            if limit < 0 || replaced < limit { out += n }
            return String(pythonScalars: out)
        }
        var i = 0
        while limit < 0 || replaced < limit, let at = find(h, o, from: i) {
            out += h[i..<at]
            out += n
            i = at + o.count
            replaced += 1
        }
        out += h[i...]
        return String(pythonScalars: out)
    }

    /// `str.split(sep=None, maxsplit=-1)`; sep must not be empty.
    static func split(_ s: String, separator: String?, maxSplit: Int = -1) -> [String] {
        let h = s.pythonScalars
        guard let separator else {
            var parts: [String] = []
            var i = 0
            while true {
                while i < h.count, isPythonWhitespace(h[i]) { i += 1 }
                if i == h.count { break }
                if maxSplit >= 0 && parts.count == maxSplit {
                    var end = h.count
                    while end > i, isPythonWhitespace(h[end - 1]) { end -= 1 }
                    parts.append(String(pythonScalars: h[i..<end]))
                    break
                }
                let start = i
                while i < h.count, !isPythonWhitespace(h[i]) { i += 1 }
                parts.append(String(pythonScalars: h[start..<i]))
            }
            return parts
        }
        let sep = separator.pythonScalars
        var parts: [String] = []
        var i = 0
        while maxSplit < 0 || parts.count < maxSplit, let at = find(h, sep, from: i) {
            parts.append(String(pythonScalars: h[i..<at]))
            i = at + sep.count
        }
        parts.append(String(pythonScalars: h[i...]))
        return parts
    }

    static func isCased(_ c: Unicode.Scalar) -> Bool { c.properties.isCased }

    /// `str.capitalize()`: first code point upper-cased, the rest lower-cased.
    static func capitalize(_ s: String) -> String {
        let a = s.pythonScalars
        guard let first = a.first else { return s }
        return String(first).uppercased() + String(pythonScalars: a.dropFirst()).lowercased()
    }

    /// `str.title()`: upper-case a cased code point that follows an uncased one.
    static func title(_ s: String) -> String {
        var out = ""
        var previousCased = false
        for c in s.unicodeScalars {
            out += previousCased ? String(c).lowercased() : String(c).uppercased()
            previousCased = isCased(c)
        }
        return out
    }

    /// Python `repr(str)`: single quotes unless the text has ' and no ".
    static func repr(_ s: String) -> String {
        let quote: Unicode.Scalar = (s.unicodeScalars.contains("'") && !s.unicodeScalars.contains("\"")) ? "\"" : "'"
        var out = String.UnicodeScalarView()
        out.append(quote)
        for c in s.unicodeScalars {
            switch c {
            case "\\": out.append(contentsOf: "\\\\".unicodeScalars)
            case "\n": out.append(contentsOf: "\\n".unicodeScalars)
            case "\r": out.append(contentsOf: "\\r".unicodeScalars)
            case "\t": out.append(contentsOf: "\\t".unicodeScalars)
            default:
                if c == quote {
                    out.append("\\")
                    out.append(c)
                } else if c.value < 0x20 || c.value == 0x7F {
                    out.append(contentsOf: "\\x".unicodeScalars)
                    out.append(contentsOf: hex(c.value, width: 2).unicodeScalars)
                } else {
                    out.append(c)
                }
            }
        }
        out.append(quote)
        return String(out)
    }

    static func hex(_ v: UInt32, width: Int) -> String {
        let digits = String(v, radix: 16)
        return String(repeating: "0", count: max(0, width - digits.count)) + digits
    }

    /// Python `repr(float)`: shortest round-trip digits, exponent form
    /// only below 1e-4 or from 1e16 up.
    static func floatRepr(_ d: Double) -> String {
        if d.isNaN { return "nan" }
        if d.isInfinite { return d < 0 ? "-inf" : "inf" }
        if d == 0 { return d.sign == .minus ? "-0.0" : "0.0" }
        // Swift's description also prints shortest round-trip digits; re-layout them.
        var text = Swift.abs(d).description
        var exponent = 0
        if let e = text.firstIndex(where: { $0 == "e" || $0 == "E" }) {
            exponent = Int(text[text.index(after: e)...]) ?? 0
            text = String(text[..<e])
        }
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        let intPart = String(parts[0])
        let fracPart = parts.count > 1 ? String(parts[1]) : ""
        var digits = intPart + fracPart
        var pointPosition = intPart.count + exponent   // digits before the decimal point
        while digits.hasPrefix("0") && digits.count > 1 { digits.removeFirst(); pointPosition -= 1 }
        while digits.hasSuffix("0") && digits.count > 1 { digits.removeLast() }
        let sci = pointPosition - 1
        let sign = d < 0 ? "-" : ""
        if sci < -4 || sci >= 16 {
            let mantissa = digits.count > 1 ? String(digits.first!) + "." + digits.dropFirst() : digits
            let expDigits = String(Swift.abs(sci))
            return sign + mantissa + "e" + (sci < 0 ? "-" : "+") + (expDigits.count < 2 ? "0" + expDigits : expDigits)
        }
        if pointPosition <= 0 {
            return sign + "0." + String(repeating: "0", count: -pointPosition) + digits
        }
        if pointPosition >= digits.count {
            return sign + digits + String(repeating: "0", count: pointPosition - digits.count) + ".0"
        }
        let cut = digits.index(digits.startIndex, offsetBy: pointPosition)
        return sign + digits[..<cut] + "." + digits[cut...]
    }

    /// `str.isdigit()` and friends, from Unicode properties (close to CPython's tables).
    static func classify(_ s: String, _ name: String) -> Bool {
        let scalars = s.pythonScalars
        switch name {
        case "islower", "isupper":
            let cased = scalars.filter { $0.properties.isCased }
            guard !cased.isEmpty else { return false }
            return name == "islower" ? cased.allSatisfy { $0.properties.isLowercase } : cased.allSatisfy { $0.properties.isUppercase }
        default:
            guard !scalars.isEmpty else { return false }
            return scalars.allSatisfy { c in
                let isDigit = c.properties.numericType == .decimal || c.properties.numericType == .digit
                switch name {
                case "isdigit": return isDigit
                case "isspace": return isPythonWhitespace(c)
                case "isalpha": return c.properties.isAlphabetic
                default: return c.properties.isAlphabetic || isDigit || c.properties.numericType != nil
                }
            }
        }
    }

    /// `str.splitlines()` line boundaries.
    static func splitLines(_ s: String) -> [String] {
        var lines: [String] = []
        var current = String.UnicodeScalarView()
        var previousCR = false
        for c in s.unicodeScalars {
            if previousCR {
                previousCR = false
                if c == "\n" { continue }
            }
            switch c.value {
            case 0x0A, 0x0B, 0x0C, 0x0D, 0x1C, 0x1D, 0x1E, 0x85, 0x2028, 0x2029:
                lines.append(String(current))
                current = String.UnicodeScalarView()
                previousCR = c == "\r"
            default:
                current.append(c)
            }
        }
        if !current.isEmpty { lines.append(String(current)) }
        return lines
    }
}
