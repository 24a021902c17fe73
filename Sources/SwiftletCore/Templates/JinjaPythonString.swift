/// Python `str` behaviour on code points (not Swift Characters), so string
/// methods and filters match jinja2 byte-for-byte, e.g. "e\u{301}" != "é".
/// Where code points allow it the work is done on UTF-8 bytes: the strings
/// may be megabytes long, and a template may ask many times.
#if canImport(Glibc)
import Glibc
#endif

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

/// UTF-8 bytes 10xxxxxx continue a code point; every other byte starts one.
func isContinuationByte(_ byte: UInt8) -> Bool { byte & 0xC0 == 0x80 }

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
    static func equal(_ a: String, _ b: String, _ budget: JinjaBudget) throws -> Bool {
        guard a.utf8.count == b.utf8.count else { return false }
        return try compareUTF8(a, b, budget) == 0
    }

    /// Python orders strings by code point, which is UTF-8's byte order.
    static func less(_ a: String, _ b: String, _ budget: JinjaBudget) throws -> Bool {
        try compareUTF8(a, b, budget) < 0
    }

    /// memcmp of the UTF-8 bytes, then the shorter first; the bytes compared
    /// are charged (none when both share storage, as `[s] * n` items do).
    private static func compareUTF8(_ a: String, _ b: String, _ budget: JinjaBudget) throws -> Int {
        var a = a, b = b
        let n = min(a.utf8.count, b.utf8.count)
        let sameStorage = a.withUTF8 { x in b.withUTF8 { y in x.baseAddress == y.baseAddress } }
        var order: Int32 = 0
        if n > 0 && !sameStorage {
            try budget.charge(n)
            order = a.withUTF8 { x in b.withUTF8 { y in memcmp(x.baseAddress!, y.baseAddress!, n) } }
        }
        if order != 0 { return Int(order) }
        return a.utf8.count < b.utf8.count ? -1 : (a.utf8.count > b.utf8.count ? 1 : 0)
    }

    /// Python `len(str)`: code points, counted as the UTF-8 bytes that start one.
    static func scalarCount(_ s: String) -> Int {
        var s = s
        return s.withUTF8 { bytes in
            var count = 0
            for byte in bytes where !isContinuationByte(byte) { count += 1 }
            return count
        }
    }

    /// `s[i]` (negative from the end): walks to the code point, without
    /// materializing the rest.
    static func scalar(at index: Int, in s: String) -> String? {
        let i = index < 0 ? index + scalarCount(s) : index
        guard i >= 0 else { return nil }
        var k = 0
        for scalar in s.unicodeScalars {
            if k == i { return String(scalar) }
            k += 1
        }
        return nil
    }

    /// `s[start:stop:step]`; step 1 (the common case) cuts the UTF-8 directly.
    static func slice(_ s: String, start: Int?, stop: Int?, step: Int) -> String {
        guard step == 1 else {
            return String(pythonScalars: JinjaAccess.pythonSlice(s.pythonScalars, start, stop, step))
        }
        let (first, end) = JinjaAccess.sliceBounds(count: scalarCount(s), start, stop, step: 1)
        guard first < end else { return "" }
        var s = s
        return s.withUTF8 { bytes in
            var scalarIndex = 0, startByte = bytes.count, endByte = bytes.count
            for (offset, byte) in bytes.enumerated() where !isContinuationByte(byte) {
                if scalarIndex == first { startByte = offset }
                if scalarIndex == end { endByte = offset; break }
                scalarIndex += 1
            }
            return String(decoding: UnsafeBufferPointer(rebasing: bytes[startByte..<endByte]), as: UTF8.self)
        }
    }

    /// Walks in from the ends only; the kept middle is copied whole.
    static func strip(_ s: String, chars: String?, leading: Bool = true, trailing: Bool = true) -> String {
        let set = chars.map { Set($0.unicodeScalars) }
        let shouldStrip: (Unicode.Scalar) -> Bool = { c in set.map { $0.contains(c) } ?? isPythonWhitespace(c) }
        let scalars = s.unicodeScalars
        var start = scalars.startIndex, end = scalars.endIndex
        if leading { while start < end, shouldStrip(scalars[start]) { start = scalars.index(after: start) } }
        if trailing {
            while end > start {
                let last = scalars.index(before: end)
                guard shouldStrip(scalars[last]) else { break }
                end = last
            }
        }
        return String(scalars[start..<end])
    }

    /// Python `str.find`: the code-point index of the first match, or nil.
    static func find(_ haystack: String, _ needle: String) -> Int? {
        let bytes = Array(haystack.utf8)
        guard let at = JinjaSubstringSearch(Array(needle.utf8)).first(in: bytes) else { return nil }
        return bytes[..<at].reduce(0) { $0 + (isContinuationByte($1) ? 0 : 1) }
    }

    static func contains(_ haystack: String, _ needle: String) -> Bool {
        JinjaSubstringSearch(Array(needle.utf8)).first(in: Array(haystack.utf8)) != nil
    }

    static func count(_ haystack: String, _ needle: String) -> Int {
        if needle.isEmpty { return scalarCount(haystack) + 1 }
        return JinjaSubstringSearch(Array(needle.utf8)).matches(in: Array(haystack.utf8))
    }

    static func hasPrefix(_ s: String, _ prefix: String) -> Bool {
        s.utf8.starts(with: prefix.utf8)
    }

    static func hasSuffix(_ s: String, _ suffix: String) -> Bool {
        s.utf8.count >= suffix.utf8.count && s.utf8.reversed().starts(with: suffix.utf8.reversed())
    }

    /// Python `str.replace`. The result's size is known before it is built
    /// (occurrences × growth), and a too-large one fails without allocating.
    static func replace(_ s: String, _ old: String, _ new: String, count limit: Int = -1) throws -> String {
        let h = Array(s.utf8), n = Array(new.utf8)
        let search = JinjaSubstringSearch(Array(old.utf8))
        let occurrences = old.isEmpty ? scalarCount(s) + 1 : search.matches(in: h, limit: limit)
        let replacements = limit < 0 ? occurrences : min(limit, occurrences)
        let (added, overflow) = replacements.multipliedReportingOverflow(by: n.count)
        if overflow { throw JinjaFailure("string result exceeds \(JinjaLimits.maxStringBytes) bytes") }
        let size = h.count - replacements * search.needle.count + added
        try JinjaLimits.checkString(byteCount: size)
        var out: [UInt8] = []
        out.reserveCapacity(size)
        var replaced = 0
        if old.isEmpty {
            // Python inserts `new` before every code point and at the end.
            for byte in h {
                if !isContinuationByte(byte), replaced < replacements { out += n; replaced += 1 }
                out.append(byte)
            }
            if replaced < replacements { out += n }
            return String(decoding: out, as: UTF8.self)
        }
        var i = 0
        while replaced < replacements, let at = search.first(in: h, from: i) {
            out += h[i..<at]
            out += n
            i = at + search.needle.count
            replaced += 1
        }
        out += h[i...]
        return String(decoding: out, as: UTF8.self)
    }

    /// `str.split(sep=None, maxsplit=-1)`; sep must not be empty. More than
    /// JinjaLimits.maxListCount parts fail before they are all built.
    static func split(_ s: String, separator: String?, maxSplit: Int = -1) throws -> [String] {
        guard let separator else {
            let h = s.pythonScalars
            var parts: [String] = []
            var i = 0
            while true {
                while i < h.count, isPythonWhitespace(h[i]) { i += 1 }
                if i == h.count { break }
                try JinjaLimits.checkList(count: parts.count + 1)
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
        let h = Array(s.utf8)
        let search = JinjaSubstringSearch(Array(separator.utf8))
        var parts: [String] = []
        var i = 0
        while maxSplit < 0 || parts.count < maxSplit, let at = search.first(in: h, from: i) {
            try JinjaLimits.checkList(count: parts.count + 2)
            parts.append(String(decoding: h[i..<at], as: UTF8.self))
            i = at + search.needle.count
        }
        parts.append(String(decoding: h[i...], as: UTF8.self))
        return parts
    }

    static func isCased(_ c: Unicode.Scalar) -> Bool { c.properties.isCased }

    /// `str.capitalize()`: first code point upper-cased, the rest lower-cased.
    static func capitalize(_ s: String) -> String {
        let scalars = s.unicodeScalars
        guard let first = scalars.first else { return s }
        var out = String.UnicodeScalarView()
        appendCased(first, upper: true, to: &out)
        return String(out) + String(scalars[scalars.index(after: scalars.startIndex)...]).lowercased()
    }

    /// `str.title()`: upper-case a cased code point that follows an uncased one.
    static func title(_ s: String) -> String {
        var out = String.UnicodeScalarView()
        var previousCased = false
        for c in s.unicodeScalars {
            appendCased(c, upper: !previousCased, to: &out)
            previousCased = isCased(c)
        }
        return String(out)
    }

    /// One code point upper- or lower-cased (ß → SS): ASCII by arithmetic,
    /// the rest through the stdlib (a String per code point, ~100× slower).
    static func appendCased(_ c: Unicode.Scalar, upper: Bool, to out: inout String.UnicodeScalarView) {
        if c.isASCII {
            let v = c.value
            if upper, v >= 0x61, v <= 0x7A { out.append(Unicode.Scalar(v - 32)!) }
            else if !upper, v >= 0x41, v <= 0x5A { out.append(Unicode.Scalar(v + 32)!) }
            else { out.append(c) }
            return
        }
        let text = String(c)
        out.append(contentsOf: (upper ? text.uppercased() : text.lowercased()).unicodeScalars)
    }

    /// Python `repr(str)`: single quotes unless the text has ' and no ".
    static func repr(_ s: String) throws -> String {
        let quote: UInt8 = s.utf8.contains(UInt8(ascii: "'")) && !s.utf8.contains(UInt8(ascii: "\"")) ? UInt8(ascii: "\"") : UInt8(ascii: "'")
        let quoteText = String(UnicodeScalar(quote))
        return try escapingASCII(s, prefix: quoteText, suffix: quoteText) { byte in
            switch byte {
            case UInt8(ascii: "\\"): return "\\\\"
            case 0x0A: return "\\n"
            case 0x0D: return "\\r"
            case 0x09: return "\\t"
            case quote: return "\\" + quoteText
            case ..<0x20, 0x7F: return "\\x" + hex(UInt32(byte), width: 2)
            default: return nil
            }
        }
    }

    /// `s` between `prefix` and `suffix`, each ASCII byte replaced by
    /// `replacement(byte)` when that is not nil. Works on UTF-8 bytes:
    /// 16 MB take milliseconds, where appending code points takes seconds.
    /// The result's size is known before it is built and must fit
    /// JinjaLimits.maxStringBytes (escaping can grow a string six-fold).
    static func escapingASCII(_ s: String, prefix: String = "", suffix: String = "",
                              _ replacement: (UInt8) -> String?) throws -> String {
        let table: [[UInt8]?] = (0..<128).map { replacement(UInt8($0)).map { Array($0.utf8) } }
        var s = s
        return try s.withUTF8 { bytes in
            var size = prefix.utf8.count + bytes.count + suffix.utf8.count
            for byte in bytes where byte < 0x80 { size += (table[Int(byte)]?.count ?? 1) - 1 }
            try JinjaLimits.checkString(byteCount: size)
            var out: [UInt8] = []
            out.reserveCapacity(size)
            out += prefix.utf8
            var kept = 0   // bytes[kept..<i] are copied unchanged, in one go
            for i in 0..<bytes.count where bytes[i] < 0x80 {
                guard let text = table[Int(bytes[i])] else { continue }
                out += UnsafeBufferPointer(rebasing: bytes[kept..<i])
                out += text
                kept = i + 1
            }
            out += UnsafeBufferPointer(rebasing: bytes[kept...])
            out += suffix.utf8
            return String(decoding: out, as: UTF8.self)
        }
    }

    /// `s * count` by doubling the bytes already written (String(repeating:)
    /// appends one copy at a time: 1.5 s for 16 million). The caller has
    /// checked the size.
    static func repeated(_ s: String, count: Int) -> String {
        let unit = Array(s.utf8)
        let total = unit.count * count
        guard total > 0 else { return "" }
        return String(unsafeUninitializedCapacity: total) { buffer in
            let base = buffer.baseAddress!
            base.initialize(from: unit, count: unit.count)
            var filled = unit.count
            while filled < total {
                let n = min(filled, total - filled)
                (base + filled).initialize(from: base, count: n)   // [0, n) and [filled, filled + n) do not overlap
                filled += n
            }
            return total
        }
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
        let scalars = s.unicodeScalars
        var lines: [String] = []
        var lineStart = scalars.startIndex
        var i = scalars.startIndex
        while i < scalars.endIndex {
            let c = scalars[i]
            let next = scalars.index(after: i)
            switch c.value {
            case 0x0A, 0x0B, 0x0C, 0x0D, 0x1C, 0x1D, 0x1E, 0x85, 0x2028, 0x2029:
                lines.append(String(scalars[lineStart..<i]))
                // \r\n is one boundary
                lineStart = c == "\r" && next < scalars.endIndex && scalars[next] == "\n" ? scalars.index(after: next) : next
                i = lineStart
            default:
                i = next
            }
        }
        if lineStart < scalars.endIndex { lines.append(String(scalars[lineStart...])) }
        return lines
    }
}
