/// Size limits that keep a hostile or buggy template from exhausting memory:
/// doubling a string in a loop would otherwise grow without bound. Far above
/// anything a real prompt needs.
enum JinjaLimits {
    static let maxStringBytes = 64 << 20
    static let maxListCount = 16 << 20

    static func checkString(byteCount: Int) throws {
        if byteCount > maxStringBytes { throw JinjaFailure("string result exceeds \(maxStringBytes) bytes") }
    }

    static func checkList(count: Int) throws {
        if count > maxListCount { throw JinjaFailure("list result exceeds \(maxListCount) items") }
    }
}
