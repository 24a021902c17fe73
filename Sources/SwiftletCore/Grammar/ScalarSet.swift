/// A set of Unicode code points as sorted, disjoint, non-adjacent ranges:
/// what a GBNF class `[^a-z]`, a regular expression's `\d` or `.` stands for.
struct ScalarSet: Hashable {
    private(set) var ranges: [ClosedRange<UInt32>]

    static let empty = ScalarSet(ranges: [])
    /// Every Unicode scalar value (the UTF-16 surrogates are not characters).
    static let all = ScalarSet(ranges: [0...0xD7FF, 0xE000...0x10FFFF])

    init(ranges: [ClosedRange<UInt32>]) {
        self.ranges = []
        for range in ranges.sorted(by: { $0.lowerBound < $1.lowerBound }) { append(range) }
    }

    init(_ scalar: UInt32) { self.init(ranges: [scalar...scalar]) }

    var isEmpty: Bool { ranges.isEmpty }

    /// The one code point in the set, if it holds exactly one.
    var single: UInt32? {
        ranges.count == 1 && ranges[0].lowerBound == ranges[0].upperBound ? ranges[0].lowerBound : nil
    }

    func contains(_ value: UInt32) -> Bool { ranges.contains { $0.contains(value) } }

    /// Appends a range that starts at or after every range held (merging).
    private mutating func append(_ range: ClosedRange<UInt32>) {
        if let last = ranges.last, range.lowerBound <= last.upperBound &+ 1 {
            ranges[ranges.count - 1] = last.lowerBound...max(last.upperBound, range.upperBound)
        } else {
            ranges.append(range)
        }
    }

    func union(_ other: ScalarSet) -> ScalarSet {
        ScalarSet(ranges: ranges + other.ranges)
    }

    func subtracting(_ other: ScalarSet) -> ScalarSet {
        var result: [ClosedRange<UInt32>] = []
        for range in ranges {
            var low = range.lowerBound
            var exhausted = false
            for cut in other.ranges where cut.upperBound >= low && cut.lowerBound <= range.upperBound {
                if cut.lowerBound > low { result.append(low...(cut.lowerBound - 1)) }
                if cut.upperBound >= range.upperBound { exhausted = true; break }
                low = cut.upperBound + 1
            }
            if !exhausted { result.append(low...range.upperBound) }
        }
        return ScalarSet(ranges: result)
    }

    func intersection(_ other: ScalarSet) -> ScalarSet {
        subtracting(ScalarSet.all.subtracting(other))
    }
}
