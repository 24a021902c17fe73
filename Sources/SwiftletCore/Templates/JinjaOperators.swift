/// Python semantics for Jinja's arithmetic and comparison operators, with
/// overflow and size checks instead of traps (Python ints never overflow;
/// we fail cleanly rather than crash).
enum JinjaOperators {
    static func negate(_ value: JinjaValue) throws -> JinjaValue {
        if case .undefined(let message) = value { throw JinjaFailure(message) }
        switch value.numeric {
        case .int(let i)?:
            let (r, overflow) = Int(0).subtractingReportingOverflow(i)
            if overflow { throw JinjaFailure("integer overflow") }
            return .int(r)
        case .float(let d)?: return .float(-d)
        case nil: throw JinjaFailure("bad operand type for unary -: '\(value.typeName)'")
        }
    }

    static func binary(_ op: JinjaBinaryOperator, _ a: JinjaValue, _ b: JinjaValue) throws -> JinjaValue {
        if op == .concat {
            let (x, y) = (try a.pythonString(), try b.pythonString())
            try JinjaLimits.checkString(byteCount: x.utf8.count + y.utf8.count)
            return .string(x + y)
        }
        if case .undefined(let message) = a { throw JinjaFailure(message) }
        if case .undefined(let message) = b { throw JinjaFailure(message) }
        if let x = a.numeric, let y = b.numeric { return try arithmetic(op, x, y) }
        switch (op, a, b) {
        case (.add, .string(let x), .string(let y)):
            try JinjaLimits.checkString(byteCount: x.utf8.count + y.utf8.count)
            return .string(x + y)
        case (.add, .list(let x), .list(let y)):
            try JinjaLimits.checkList(count: x.count + y.count)
            return .list(x + y)
        case (.multiply, .string(let s), _) where b.numeric != nil: return .string(try repeatString(s, b))
        case (.multiply, _, .string(let s)) where a.numeric != nil: return .string(try repeatString(s, a))
        case (.multiply, .list(let l), _) where b.numeric != nil: return .list(try repeatList(l, b))
        case (.multiply, _, .list(let l)) where a.numeric != nil: return .list(try repeatList(l, a))
        case (.modulo, .string, _): throw JinjaFailure("printf-style string formatting ('%') is not supported")
        default:
            throw JinjaFailure("unsupported operand type(s) for \(op.rawValue): '\(a.typeName)' and '\(b.typeName)'")
        }
    }

    private static func repeatCount(_ n: JinjaValue) throws -> Int {
        guard case .int(let count)? = n.numeric else {
            throw JinjaFailure("can't multiply sequence by non-int of type '\(n.typeName)'")
        }
        return max(0, count)
    }

    private static func repeatString(_ s: String, _ n: JinjaValue) throws -> String {
        let count = try repeatCount(n)
        guard s.utf8.count == 0 || count <= JinjaLimits.maxStringBytes / s.utf8.count else { throw JinjaFailure("repeated string is too large") }
        return PythonString.repeated(s, count: count)
    }

    private static func repeatList(_ l: [JinjaValue], _ n: JinjaValue) throws -> [JinjaValue] {
        let count = try repeatCount(n)
        guard l.isEmpty || count <= JinjaLimits.maxListCount / l.count else { throw JinjaFailure("repeated list is too large") }
        return Array([[JinjaValue]](repeating: l, count: count).joined())
    }

    private static func arithmetic(_ op: JinjaBinaryOperator, _ a: JinjaValue.Number, _ b: JinjaValue.Number) throws -> JinjaValue {
        if case .int(let x) = a, case .int(let y) = b {
            func checked(_ r: (partialValue: Int, overflow: Bool)) throws -> JinjaValue {
                if r.overflow { throw JinjaFailure("integer overflow") }
                return .int(r.partialValue)
            }
            switch op {
            case .add: return try checked(x.addingReportingOverflow(y))
            case .subtract: return try checked(x.subtractingReportingOverflow(y))
            case .multiply: return try checked(x.multipliedReportingOverflow(by: y))
            case .divide:
                guard y != 0 else { throw JinjaFailure("division by zero") }
                return .float(Double(x) / Double(y))
            case .floorDivide:
                guard y != 0 else { throw JinjaFailure("integer division or modulo by zero") }
                if x == Int.min && y == -1 { throw JinjaFailure("integer overflow") }
                var q = x / y
                if (x % y != 0) && ((x < 0) != (y < 0)) { q -= 1 }
                return .int(q)
            case .modulo:
                guard y != 0 else { throw JinjaFailure("integer division or modulo by zero") }
                if y == -1 { return .int(0) }
                var r = x % y
                if r != 0 && ((r < 0) != (y < 0)) { r += y }
                return .int(r)
            case .power:
                if y < 0 { return .float(floatPower(Double(x), y)) }
                var result = 1, base = x, e = y
                while e > 0 {
                    if e & 1 == 1 { result = try checkedInt(result.multipliedReportingOverflow(by: base)) }
                    e >>= 1
                    if e > 0 { base = try checkedInt(base.multipliedReportingOverflow(by: base)) }
                }
                return .int(result)
            case .concat:
                break
            }
        }
        let x = a.asDouble, y = b.asDouble
        switch op {
        case .add: return .float(x + y)
        case .subtract: return .float(x - y)
        case .multiply: return .float(x * y)
        case .divide:
            guard y != 0 else { throw JinjaFailure("float division by zero") }
            return .float(x / y)
        case .floorDivide:
            guard y != 0 else { throw JinjaFailure("float floor division by zero") }
            return .float(floor(x / y))
        case .modulo:
            guard y != 0 else { throw JinjaFailure("float modulo") }
            var r = x.truncatingRemainder(dividingBy: y)
            if r != 0 && ((r < 0) != (y < 0)) { r += y }
            return .float(r)
        case .power:
            guard case .int(let e) = b else { throw JinjaFailure("non-integer exponents are not supported") }
            return .float(floatPower(x, e))
        case .concat:
            return .string("")
        }
    }

    /// floor() without libm (Foundation-free builds do not link it).
    static func floor(_ x: Double) -> Double {
        guard x.isFinite, Swift.abs(x) < 4.5e15 else { return x }   // already integral
        let t = Double(Int(x))
        return t > x ? t - 1 : t
    }

    private static func checkedInt(_ r: (partialValue: Int, overflow: Bool)) throws -> Int {
        if r.overflow { throw JinjaFailure("integer overflow") }
        return r.partialValue
    }

    /// x ** e for an integer exponent (the stdlib has no pow without Foundation).
    private static func floatPower(_ x: Double, _ e: Int) -> Double {
        var result = 1.0, base = x, n = e.magnitude
        while n > 0 {
            if n & 1 == 1 { result *= base }
            base *= base
            n >>= 1
        }
        return e < 0 ? 1 / result : result
    }

    /// Comparisons charge their work to `budget` (nested values, long strings).
    static func compare(_ op: JinjaCompareOperator, _ a: JinjaValue, _ b: JinjaValue, _ budget: JinjaBudget) throws -> Bool {
        switch op {
        case .equal: return try a.pythonEquals(b, budget)
        case .notEqual: return try !a.pythonEquals(b, budget)
        case .contains: return try contains(b, a, budget)
        case .notContains: return !(try contains(b, a, budget))
        case .less: return try less(a, b, budget, op)
        case .greater: return try less(b, a, budget, op)
        case .lessOrEqual: return try !less(b, a, budget, op)
        case .greaterOrEqual: return try !less(a, b, budget, op)
        }
    }

    /// Python `<` for the orderable types (numbers, strings, lists).
    static func less(_ a: JinjaValue, _ b: JinjaValue, _ budget: JinjaBudget, _ op: JinjaCompareOperator = .less,
                     depth: Int = 0) throws -> Bool {
        if depth > JinjaLimits.maxValueNesting { throw JinjaFailure("maximum recursion depth exceeded in comparison") }
        try budget.chargeValues(1)
        if case .undefined(let message) = a { throw JinjaFailure(message) }
        if case .undefined(let message) = b { throw JinjaFailure(message) }
        if let x = a.numeric, let y = b.numeric {
            if case .int(let i) = x, case .int(let j) = y { return i < j }
            return x.asDouble < y.asDouble
        }
        switch (a, b) {
        case (.string(let x), .string(let y)): return try PythonString.less(x, y, budget)
        case (.list(let x), .list(let y)):
            for (p, q) in zip(x, y) where try !p.pythonEquals(q, budget) { return try less(p, q, budget, op, depth: depth + 1) }
            return x.count < y.count
        default:
            throw JinjaFailure("'\(op.rawValue)' not supported between instances of '\(a.typeName)' and '\(b.typeName)'")
        }
    }

    /// Python `needle in container`.
    static func contains(_ container: JinjaValue, _ needle: JinjaValue, _ budget: JinjaBudget) throws -> Bool {
        switch container {
        case .undefined: return false
        case .string(let s):
            guard case .string(let n) = needle else {
                throw JinjaFailure("'in <string>' requires string as left operand, not \(needle.typeName)")
            }
            try budget.charge(s.utf8.count + n.utf8.count)   // the search is linear in both
            return PythonString.contains(s, n)
        case .list(let items): return try items.contains { try $0.pythonEquals(needle, budget) }
        case .dict(let dict): return try dict.value(for: needle, budget) != nil
        default: throw JinjaFailure("argument of type '\(container.typeName)' is not iterable")
        }
    }
}
