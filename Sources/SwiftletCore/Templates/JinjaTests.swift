/// Jinja tests: `x is defined`, `x is string`, `n is divisibleby 3`, ...
/// (named for jinja2's concept, not unit tests).
enum JinjaTests {
    static let names: Set<String> = [
        "defined", "undefined", "none", "boolean", "true", "false", "integer", "float", "number",
        "string", "mapping", "iterable", "sequence", "callable", "even", "odd", "divisibleby",
        "eq", "equalto", "ne", "lt", "lessthan", "le", "gt", "greaterthan", "ge", "in", "sameas",
        "lower", "upper",
    ]

    static func isKnown(_ name: String) -> Bool { names.contains(name) }

    /// Applies test `name`; comparisons it makes are charged to `budget`.
    static func apply(_ name: String, _ value: JinjaValue, _ args: JinjaArguments, _ budget: JinjaBudget) throws -> Bool {
        func argument() throws -> JinjaValue {
            let bound = try args.bind(["other"], function: name)
            guard let other = bound[0] else { throw JinjaFailure("test '\(name)' needs an argument") }
            return other
        }
        switch name {
        case "defined": return !value.isUndefined
        case "undefined": return value.isUndefined
        case "none": if case .none = value { return true }; return false
        case "boolean": if case .bool = value { return true }; return false
        case "true": if case .bool(true) = value { return true }; return false
        case "false": if case .bool(false) = value { return true }; return false
        case "integer": if case .int = value { return true }; return false
        case "float": if case .float = value { return true }; return false
        case "number": return value.numeric != nil
        case "string": if case .string = value { return true }; return false
        case "mapping": if case .dict = value { return true }; return false
        case "iterable", "sequence":
            switch value {
            case .undefined: return name == "iterable"
            case .string, .list, .dict: return true
            default: return false
            }
        case "callable":
            switch value {
            case .builtin, .macro: return true
            default: return false
            }
        case "even", "odd":
            guard case .int(let i)? = value.numeric, case .int = value else {
                if case .undefined(let message) = value { throw JinjaFailure(message) }
                throw JinjaFailure("test '\(name)' needs an integer")
            }
            return (i % 2 == 0) == (name == "even")
        case "divisibleby":
            let other = try argument()
            guard case .int(let a)? = value.numeric, case .int(let b)? = other.numeric else {
                if case .undefined(let message) = value { throw JinjaFailure(message) }
                throw JinjaFailure("test 'divisibleby' needs integers")
            }
            guard b != 0 else { throw JinjaFailure("integer division or modulo by zero") }
            return b == -1 || a % b == 0   // Int.min % -1 traps in Swift
        case "eq", "equalto": return try value.pythonEquals(try argument(), budget)
        case "ne": return try !value.pythonEquals(try argument(), budget)
        case "lt", "lessthan": return try JinjaOperators.compare(.less, value, try argument(), budget)
        case "le": return try JinjaOperators.compare(.lessOrEqual, value, try argument(), budget)
        case "gt", "greaterthan": return try JinjaOperators.compare(.greater, value, try argument(), budget)
        case "ge": return try JinjaOperators.compare(.greaterOrEqual, value, try argument(), budget)
        case "in": return try JinjaOperators.contains(try argument(), value, budget)
        case "sameas":
            // Python identity: singletons and small values compare by value here.
            switch (value, try argument()) {
            case (.none, .none): return true
            case (.bool(let a), .bool(let b)): return a == b
            case (.int(let a), .int(let b)): return a == b
            case (.namespace(let a), .namespace(let b)): return a === b
            default: return false
            }
        case "lower", "upper":
            let text = try value.pythonString()
            try budget.chargeCodePointWork(text)
            return PythonString.classify(text, name == "lower" ? "islower" : "isupper")
        default:
            throw JinjaFailure("no test named '\(name)'")
        }
    }
}
