/// Python methods templates call on values: `content.strip()`,
/// `message.get('x')`, `d.items()`... Mutating methods are refused, as in
/// jinja2's ImmutableSandboxedEnvironment that Hugging Face uses.
enum JinjaMethods {
    private static let mutators: Set<String> = [
        "append", "extend", "insert", "pop", "remove", "clear", "sort", "reverse",
        "update", "setdefault", "popitem",
    ]

    /// Returns nil when `name` is not a method of this value's type.
    /// Lookups a method makes are charged to `budget`.
    static func call(_ value: JinjaValue, _ name: String, _ args: JinjaArguments, _ budget: JinjaBudget) throws -> JinjaValue? {
        switch value {
        case .string(let s): return try stringMethod(s, name, args, budget)
        case .dict(let d): return try dictMethod(d, name, args, budget)
        case .list:
            if mutators.contains(name) { throw JinjaFailure("access to attribute '\(name)' of 'list' object is unsafe") }
            return nil
        default: return nil
        }
    }

    private static func dictMethod(_ d: JinjaDict, _ name: String, _ args: JinjaArguments, _ budget: JinjaBudget) throws -> JinjaValue? {
        switch name {
        case "get":
            let a = try args.bind(["key", "default"], function: "get")
            guard let key = a[0] else { throw JinjaFailure("get expected at least 1 argument, got 0") }
            return try d.value(for: key, budget) ?? a[1] ?? JinjaValue.none
        case "items":
            _ = try args.bind([], function: "items")
            return .list(d.entries.map { .list([$0.key, $0.value]) })
        case "keys":
            _ = try args.bind([], function: "keys")
            return .list(d.entries.map(\.key))
        case "values":
            _ = try args.bind([], function: "values")
            return .list(d.entries.map(\.value))
        default:
            if mutators.contains(name) { throw JinjaFailure("access to attribute '\(name)' of 'dict' object is unsafe") }
            return nil
        }
    }

    private static func optionalString(_ v: JinjaValue?, _ function: String) throws -> String? {
        switch v {
        case nil, .none?: return nil
        case .string(let s)?: return s
        case let other?: throw JinjaFailure("\(function) arg must be None or str, not \(other.typeName)")
        }
    }

    private static func requiredString(_ v: JinjaValue?, _ function: String) throws -> String {
        guard case .string(let s)? = v else {
            throw JinjaFailure("\(function)() argument must be str, not \(v?.typeName ?? "nothing")")
        }
        return s
    }

    private static func optionalInt(_ v: JinjaValue?, default defaultValue: Int, _ function: String) throws -> Int {
        guard let v else { return defaultValue }
        guard case .int(let i)? = v.numeric else {
            throw JinjaFailure("'\(v.typeName)' object cannot be interpreted as an integer")
        }
        return i
    }

    private static func stringMethod(_ s: String, _ name: String, _ args: JinjaArguments, _ budget: JinjaBudget) throws -> JinjaValue? {
        switch name {
        case "strip", "lstrip", "rstrip":
            let a = try args.bind(["chars"], function: name)
            let chars = try optionalString(a[0], name)
            return .string(PythonString.strip(s, chars: chars, leading: name != "rstrip", trailing: name != "lstrip"))
        case "upper", "lower", "title", "capitalize":
            _ = try args.bind([], function: name)
            try budget.chargeCodePointWork(s)
            switch name {
            case "upper": return .string(s.uppercased())
            case "lower": return .string(s.lowercased())
            case "title": return .string(PythonString.title(s))
            default: return .string(PythonString.capitalize(s))
            }
        case "startswith", "endswith":
            let a = try args.bind(["prefix"], function: name)
            let candidates: [JinjaValue]
            switch a[0] {
            case .string?: candidates = [a[0]!]
            case .list(let items)?: candidates = items
            default: throw JinjaFailure("\(name) first arg must be str or a tuple of str")
            }
            for candidate in candidates {
                let text = try requiredString(candidate, name)
                if name == "startswith" ? PythonString.hasPrefix(s, text) : PythonString.hasSuffix(s, text) { return .bool(true) }
            }
            return .bool(false)
        case "split":
            let a = try args.bind(["sep", "maxsplit"], function: name)
            let separator = try optionalString(a[0], name)
            if separator?.isEmpty == true { throw JinjaFailure("empty separator") }
            let maxSplit = try optionalInt(a[1], default: -1, name)
            if separator == nil { try budget.chargeCodePointWork(s) }   // whitespace is found code point by code point
            return .list(try PythonString.split(s, separator: separator, maxSplit: maxSplit).map { .string($0) })
        case "replace":
            let a = try args.bind(["old", "new", "count"], function: name)
            let count = try optionalInt(a[2], default: -1, name)
            return .string(try PythonString.replace(s, try requiredString(a[0], name), try requiredString(a[1], name), count: count))
        case "find":
            let a = try args.bind(["sub"], function: name)
            return .int(PythonString.find(s, try requiredString(a[0], name)) ?? -1)
        case "count":
            let a = try args.bind(["sub"], function: name)
            return .int(PythonString.count(s, try requiredString(a[0], name)))
        case "join":
            let a = try args.bind(["iterable"], function: name)
            let items = try JinjaAccess.iterate(a[0] ?? .list([]))
            let parts = try items.map { item -> String in
                guard case .string(let text) = item else {
                    throw JinjaFailure("sequence item: expected str instance, \(item.typeName) found")
                }
                return text
            }
            return .string(parts.joined(separator: s))
        case "isdigit", "isspace", "isalpha", "isalnum", "islower", "isupper":
            _ = try args.bind([], function: name)
            try budget.chargeCodePointWork(s)
            return .bool(PythonString.classify(s, name))
        default:
            return nil
        }
    }
}
