/// What one render may still spend (JinjaLimits.maxWorkBytes and maxSteps).
/// The renderer charges what it builds; the helpers charge what only they
/// can see — comparisons walking nested values, dict lookups scanning keys,
/// sorting — so work out of proportion to a value's top-level size is paid
/// for too (`[s]*100000 == [t]*100000` of two 16 MB strings, `unique` of a
/// long list). One per render, used by its thread only.
final class JinjaBudget {
    private(set) var workBytes = 0
    private(set) var steps = 0

    /// Charges bytes created, copied, compared or scanned.
    func charge(_ bytes: Int) throws {
        workBytes += bytes
        if workBytes > JinjaLimits.maxWorkBytes {
            throw JinjaFailure("template exceeded its budget of \(JinjaLimits.maxWorkBytes) bytes of work (runaway loop building or comparing large values?)")
        }
    }

    /// Charges work done one code point at a time (case mapping, whitespace
    /// splitting, stepped slices), JinjaLimits.codePointWorkWeight per byte.
    func chargeCodePointWork(_ s: String) throws {
        try charge(s.utf8.count * JinjaLimits.codePointWorkWeight)
    }

    /// Charges the slots of `count` values visited (a list walked, a dict's keys scanned).
    func chargeValues(_ count: Int) throws {
        try charge(count * MemoryLayout<JinjaValue>.stride)
    }

    /// Counts one loop iteration or macro call.
    func step() throws {
        steps += 1
        if steps > JinjaLimits.maxSteps {
            throw JinjaFailure("template exceeded \(JinjaLimits.maxSteps) loop iterations / macro calls (runaway loop?)")
        }
    }
}
