/// Global functions: jinja2's `range`, `namespace`, `dict`, plus Hugging
/// Face's `raise_exception`. (`strftime_now` is deliberately absent: templates
/// test `strftime_now is defined` and fall back to a fixed date, which keeps
/// rendering deterministic.)
enum JinjaBuiltins {
    /// jinja2's sandbox refuses larger ranges (MAX_RANGE); so do we.
    static let maxRange = 100_000

    static func call(_ builtin: JinjaBuiltin, _ arguments: JinjaArguments) throws -> JinjaValue {
        switch builtin {
        case .raiseException:
            let message = arguments.positional.first?.pythonString ?? ""
            throw JinjaFailure(message, raisedByTemplate: true)
        case .range:
            return try range(arguments)
        case .namespace:
            let namespace = JinjaNamespace()
            namespace.attributes = try mapping(arguments, function: "namespace")
            return .namespace(namespace)
        case .dict:
            return .dict(try mapping(arguments, function: "dict"))
        }
    }

    private static func range(_ arguments: JinjaArguments) throws -> JinjaValue {
        guard arguments.keyword.isEmpty else { throw JinjaFailure("range() takes no keyword arguments") }
        let ints = try arguments.positional.map { value -> Int in
            guard case .int(let i)? = value.numeric else {
                throw JinjaFailure("'\(value.typeName)' object cannot be interpreted as an integer")
            }
            return i
        }
        let (start, stop, step): (Int, Int, Int)
        switch ints.count {
        case 1: (start, stop, step) = (0, ints[0], 1)
        case 2: (start, stop, step) = (ints[0], ints[1], 1)
        case 3: (start, stop, step) = (ints[0], ints[1], ints[2])
        default: throw JinjaFailure("range expected 1 to 3 arguments, got \(ints.count)")
        }
        guard step != 0 else { throw JinjaFailure("range() arg 3 must not be zero") }
        // Count with overflow-checked integer math (no libm in a Foundation-free build).
        let (low, high) = step > 0 ? (start, stop) : (stop, start)
        var count = 0
        if low < high {
            let (span, overflow) = high.subtractingReportingOverflow(low)
            count = overflow ? Int.max : (span - 1) / Int(step.magnitude) + 1
        }
        guard count <= maxRange else {
            throw JinjaFailure("Range too big. The sandbox blocks ranges larger than MAX_RANGE (\(maxRange)).")
        }
        return .list((0..<count).map { .int(start + $0 * step) })
    }

    /// `f({'a': 1}, b=2)`: optional positional mappings, then keywords.
    private static func mapping(_ arguments: JinjaArguments, function: String) throws -> JinjaDict {
        var dict = JinjaDict()
        guard arguments.positional.count <= 1 else {
            throw JinjaFailure("\(function)() expected at most 1 positional argument")
        }
        if let first = arguments.positional.first {
            switch first {
            case .dict(let d): dict = d
            case .list(let pairs):
                for pair in pairs {
                    guard case .list(let kv) = pair, kv.count == 2 else {
                        throw JinjaFailure("\(function)() sequence elements must be pairs")
                    }
                    dict.set(kv[0], kv[1])
                }
            default: throw JinjaFailure("'\(first.typeName)' object is not a mapping")
            }
        }
        for (name, value) in arguments.keyword { dict.set(.string(name), value) }
        return dict
    }
}
