/// Global functions: jinja2's `range`, `namespace`, `dict`, plus Hugging
/// Face's `raise_exception`. (`strftime_now` is deliberately absent: templates
/// test `strftime_now is defined` and fall back to a fixed date, which keeps
/// rendering deterministic.)
enum JinjaBuiltins {
    /// jinja2's sandbox refuses larger ranges (MAX_RANGE); so do we.
    static let maxRange = 100_000

    /// Keys `namespace`/`dict` compare are charged to `budget`.
    static func call(_ builtin: JinjaBuiltin, _ arguments: JinjaArguments, _ budget: JinjaBudget) throws -> JinjaValue {
        switch builtin {
        case .raiseException:
            let message = try arguments.positional.first?.pythonString() ?? ""
            throw JinjaFailure(message, raisedByTemplate: true)
        case .range:
            return try range(arguments)
        case .namespace:
            let namespace = JinjaNamespace()
            namespace.attributes = try mapping(arguments, function: "namespace", budget)
            return .namespace(namespace)
        case .dict:
            return .dict(try mapping(arguments, function: "dict", budget))
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
        // Counted in unsigned arithmetic: high - low and step's magnitude may not fit an Int.
        let (low, high) = step > 0 ? (start, stop) : (stop, start)
        var count: UInt = 0
        if low < high {
            let span = UInt(bitPattern: high &- low)   // high > low, so the true difference is in 1...UInt.max
            count = (span - 1) / step.magnitude + 1
        }
        guard count <= UInt(maxRange) else {
            throw JinjaFailure("Range too big. The sandbox blocks ranges larger than MAX_RANGE (\(maxRange)).")
        }
        // start + i * step lies between start and stop, so it fits an Int; the
        // product alone may not, and wrapping arithmetic gives the true sum.
        return .list((0..<Int(count)).map { .int(start &+ $0 &* step) })
    }

    /// `f({'a': 1}, b=2)`: optional positional mappings, then keywords.
    private static func mapping(_ arguments: JinjaArguments, function: String, _ budget: JinjaBudget) throws -> JinjaDict {
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
                    try dict.set(kv[0], kv[1], budget)
                }
            default: throw JinjaFailure("'\(first.typeName)' object is not a mapping")
            }
        }
        for (name, value) in arguments.keyword { try dict.set(.string(name), value, budget) }
        return dict
    }
}
