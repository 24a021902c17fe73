/// The decimal integers of a closed range as GBNF: what `minimum` and
/// `maximum` (and the exclusive forms) make of `"type": "integer"`.
///
/// JSON writes an integer without leading zeros and 0 without a sign, so the
/// range splits by sign and then by number of digits; within one length the
/// numbers from `low` to `high` are the strings between two digit strings of
/// that length, which `sameLength` spells digit by digit: the shared prefix,
/// then `low`'s first differing digit followed by anything up to 99..9, the
/// digits strictly between followed by any digits, and `high`'s digit
/// followed by anything from 00..0. The result has O(digits²) size: a
/// range of 19-digit bounds is a few kilobytes, never an enumeration.
enum JSONSchemaIntegerRange {
    /// Bounds beyond ±10^18 are refused (they would overflow Int on negation
    /// or on adding one for an exclusive bound).
    static let largestBound = 1_000_000_000_000_000_000

    /// The integers in `low...high` (low <= high), as one GBNF alternation (not grouped).
    static func expression(low: Int, high: Int) -> String {
        var alternatives: [String] = []
        if low < 0 {
            // -1 ... -k is "-" and 1 ... k, in the order the digits run.
            let negative = nonNegative(max(1, -high), -low)
            alternatives.append("\"-\" " + GBNFSpelling.group(negative))
        }
        if high >= 0 {
            alternatives += nonNegative(max(0, low), high)
        }
        return alternatives.joined(separator: " | ")
    }

    /// The alternatives for `low...high`, 0 <= low <= high: one per digit count.
    private static func nonNegative(_ low: Int, _ high: Int) -> [String] {
        var alternatives: [String] = []
        let lowDigits = String(low).count
        let highDigits = String(high).count
        for length in lowDigits...highDigits {
            let smallest = length == 1 ? 0 : power(10, length - 1)
            let largest = length >= 19 ? Int.max : power(10, length) - 1  // 10^19 is past Int.max
            let from = String(max(low, smallest)).utf8.map { Int($0) - 0x30 }
            let to = String(min(high, largest)).utf8.map { Int($0) - 0x30 }
            alternatives.append(sameLength(from[...], to[...], base: 10, digits: decimalDigits))
        }
        return alternatives
    }

    private static func decimalDigits(_ from: Int, _ to: Int) -> String {
        from == to ? "\"\(from)\"" : "[\(from)-\(to)]"
    }

    /// The digit strings (digit values, most significant first) from `low`
    /// to `high`, both of one length, low <= high, in `base`; `digits(a, b)`
    /// spells one digit from a to b. Also spells the hex digits of \u escapes
    /// (JSONStringContent).
    static func sameLength(_ low: ArraySlice<Int>, _ high: ArraySlice<Int>, base: Int,
                           digits: (Int, Int) -> String) -> String {
        var shared = 0
        while shared < low.count && low[low.startIndex + shared] == high[high.startIndex + shared] { shared += 1 }
        var elements = low.prefix(shared).map { digits($0, $0) }
        if shared < low.count {
            let lowDigit = low[low.startIndex + shared]
            let highDigit = high[high.startIndex + shared]
            let lowRest = low.dropFirst(shared + 1)
            let highRest = high.dropFirst(shared + 1)
            let restLength = lowRest.count
            var alternatives: [String] = []
            var firstFree = lowDigit
            var lastFree = highDigit
            if lowRest.contains(where: { $0 != 0 }) {
                let largest = ArraySlice(repeating: base - 1, count: restLength)
                alternatives.append(digits(lowDigit, lowDigit) + " " + sameLength(lowRest, largest, base: base, digits: digits))
                firstFree += 1
            }
            var last: String?
            if highRest.contains(where: { $0 != base - 1 }) {
                let zeros = ArraySlice(repeating: 0, count: restLength)
                last = digits(highDigit, highDigit) + " " + sameLength(zeros, highRest, base: base, digits: digits)
                lastFree -= 1
            }
            if firstFree <= lastFree {
                let any = restLength == 0 ? "" : restLength == 1 ? " " + digits(0, base - 1) : " \(digits(0, base - 1)){\(restLength)}"
                alternatives.append(digits(firstFree, lastFree) + any)
            }
            if let last { alternatives.append(last) }
            elements.append(GBNFSpelling.group(alternatives))
        }
        return elements.joined(separator: " ")
    }

    private static func power(_ base: Int, _ exponent: Int) -> Int {
        var result = 1
        for _ in 0..<exponent { result *= base }
        return result
    }
}
