/// Substring search over UTF-8 bytes, linear in haystack + needle
/// (Knuth–Morris–Pratt). The naive scan is quadratic: a template asking for
/// 'xx…xy' (8 MB) in 'xx…x' (16 MB) would run for hours.
///
/// Searching bytes finds exactly the code-point matches Python finds: in
/// valid UTF-8 a lead byte never equals a continuation byte, so an encoded
/// needle can only match where a code point starts.
struct JinjaSubstringSearch {
    let needle: [UInt8]
    /// fallback[i]: length of the longest proper prefix of needle[0...i] that is also its suffix.
    private let fallback: [Int]

    init(_ needle: [UInt8]) {
        self.needle = needle
        var fallback = [Int](repeating: 0, count: needle.count)
        var k = 0
        var i = 1
        while i < needle.count {
            while k > 0 && needle[i] != needle[k] { k = fallback[k - 1] }
            if needle[i] == needle[k] { k += 1 }
            fallback[i] = k
            i += 1
        }
        self.fallback = fallback
    }

    /// Byte offset of the first match at or after `start`; an empty needle matches at `start`.
    func first(in haystack: [UInt8], from start: Int = 0) -> Int? {
        if needle.isEmpty { return start <= haystack.count ? start : nil }
        var k = 0
        var i = start
        while i < haystack.count {
            while k > 0 && haystack[i] != needle[k] { k = fallback[k - 1] }
            if haystack[i] == needle[k] { k += 1 }
            if k == needle.count { return i + 1 - k }
            i += 1
        }
        return nil
    }

    /// Non-overlapping matches, left to right (Python's `count`/`replace`/`split`),
    /// at most `limit` (< 0: all). The empty needle is the caller's case (Python
    /// matches it between code points) and counts 0 here.
    func matches(in haystack: [UInt8], limit: Int = -1) -> Int {
        guard !needle.isEmpty else { return 0 }
        var total = 0, i = 0
        while limit < 0 || total < limit, let at = first(in: haystack, from: i) {
            total += 1
            i = at + needle.count
        }
        return total
    }
}
