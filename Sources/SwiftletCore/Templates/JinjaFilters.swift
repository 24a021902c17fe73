/// The jinja2 built-in filters chat templates use, with jinja2's argument
/// names and edge cases (Undefined input, empty sequences, ...).
enum JinjaFilters {
    static let names: Set<String> = [
        "abs", "capitalize", "count", "d", "default", "e", "escape", "first", "float", "indent",
        "int", "items", "join", "last", "length", "list", "lower", "map", "max", "min", "reject",
        "rejectattr", "replace", "reverse", "safe", "select", "selectattr", "sort", "string",
        "sum", "title", "tojson", "trim", "unique", "upper",
    ]

    static func isKnown(_ name: String) -> Bool { names.contains(name) }

    /// Applies filter `name`; comparisons and lookups it makes are charged to `budget`.
    static func apply(_ name: String, _ value: JinjaValue, _ args: JinjaArguments, _ budget: JinjaBudget) throws -> JinjaValue {
        func bind(_ parameters: [String]) throws -> [JinjaValue?] { try args.bind(parameters, function: name) }
        switch name {
        case "trim":
            let a = try bind(["chars"])
            let chars: String? = { if case .string(let c)? = a[0] { return c } else { return nil } }()
            return .string(PythonString.strip(try value.pythonString(), chars: chars))
        case "upper", "lower", "capitalize", "title":
            _ = try bind([])
            let text = try value.pythonString()
            try budget.chargeCodePointWork(text)
            switch name {
            case "upper": return .string(text.uppercased())
            case "lower": return .string(text.lowercased())
            case "capitalize": return .string(PythonString.capitalize(text))
            default: return .string(titleCase(text))
            }
        case "string", "safe": _ = try bind([]); return .string(try value.pythonString())
        case "escape", "e": _ = try bind([]); return .string(try htmlEscape(try value.pythonString()))
        case "length", "count":
            _ = try bind([])
            return .int(try length(value))
        case "default", "d":
            let a = try bind(["default_value", "boolean"])
            let useDefault = value.isUndefined || ((a[1]?.isTruthy ?? false) && !value.isTruthy)
            return useDefault ? (a[0] ?? .string("")) : value
        case "int":
            let a = try bind(["default", "base"])
            return try toInt(value, default: a[0] ?? .int(0), base: a[1])
        case "float":
            let a = try bind(["default"])
            return try toFloat(value, default: a[0] ?? .float(0))
        case "abs":
            _ = try bind([])
            switch value.numeric {
            case .int(let i)?:
                guard i != Int.min else { throw JinjaFailure("integer overflow") }
                return .int(Swift.abs(i))
            case .float(let d)?: return .float(Swift.abs(d))
            case nil: throw JinjaFailure("bad operand type for abs(): '\(value.typeName)'")
            }
        case "join":
            let a = try bind(["d", "attribute"])
            var items = try JinjaAccess.iterate(value)
            if let attribute = a[1] { items = try items.map { try lookupPath($0, attribute, budget) } }
            let separator = try a[0]?.pythonString() ?? ""
            // Measured piece by piece: the parts may print far longer than they are.
            var out = JinjaTextBuffer()
            for (i, item) in items.enumerated() {
                if i > 0 { try out.append(separator) }
                try out.append(try item.pythonString())
            }
            return .string(out.text)
        case "first":
            _ = try bind([])
            return try JinjaAccess.iterate(value).first ?? .undefined("No first item, sequence was empty.")
        case "last":
            _ = try bind([])
            return try JinjaAccess.iterate(value).last ?? .undefined("No last item, sequence was empty.")
        case "list":
            _ = try bind([])
            return .list(try JinjaAccess.iterate(value))
        case "items":
            _ = try bind([])
            switch value {
            case .undefined: return .list([])
            case .dict(let d): return .list(d.entries.map { .list([$0.key, $0.value]) })
            default: throw JinjaFailure("Can only get item pairs from a mapping.")
            }
        case "reverse":
            _ = try bind([])
            if case .string(let s) = value {
                try budget.chargeCodePointWork(s)
                return .string(String(pythonScalars: s.unicodeScalars.reversed()))
            }
            return .list(try JinjaAccess.iterate(value).reversed())
        case "replace":
            let a = try bind(["old", "new", "count"])
            guard let old = a[0], let new = a[1] else { throw JinjaFailure("replace() needs 'old' and 'new'") }
            var count = -1
            if let c = a[2], case .int(let n)? = c.numeric { count = n }
            return .string(try PythonString.replace(try value.pythonString(), try old.pythonString(), try new.pythonString(), count: count))
        case "tojson":
            return try toJSON(value, try bind(["ensure_ascii", "indent", "separators", "sort_keys"]), budget)
        case "indent":
            let a = try bind(["width", "first", "blank"])
            let text = try value.pythonString()
            try budget.chargeCodePointWork(text)   // split into lines code point by code point
            return .string(try indent(text, width: a[0] ?? .int(4),
                                      first: a[1]?.isTruthy ?? false, blank: a[2]?.isTruthy ?? false))
        case "map":
            return try map(value, args, budget)
        case "select", "reject":
            return try select(value, args, byAttribute: false, keep: name == "select", budget)
        case "selectattr", "rejectattr":
            return try select(value, args, byAttribute: true, keep: name == "selectattr", budget)
        case "sort":
            let a = try bind(["reverse", "case_sensitive", "attribute"])
            let items = try JinjaAccess.iterate(value)
            let key = sortKey(caseSensitive: a[1]?.isTruthy ?? false, attribute: a[2], budget)
            let descending = a[0]?.isTruthy ?? false
            // Keys computed once, not per comparison.
            let keyed = try items.map { (key: try key($0), item: $0) }
            return .list(try jinjaStableSorted(keyed) { x, y in
                descending ? try JinjaOperators.less(y.key, x.key, budget) : try JinjaOperators.less(x.key, y.key, budget)
            }.map(\.item))
        case "unique":
            let a = try bind(["case_sensitive", "attribute"])
            let key = sortKey(caseSensitive: a[0]?.isTruthy ?? false, attribute: a[1], budget)
            var seen: [JinjaValue] = []
            var result: [JinjaValue] = []
            for item in try JinjaAccess.iterate(value) {
                let k = try key(item)
                if try !seen.contains(where: { try $0.pythonEquals(k, budget) }) {
                    seen.append(k)
                    result.append(item)
                }
            }
            return .list(result)
        case "min", "max":
            let a = try bind(["case_sensitive", "attribute"])
            let key = sortKey(caseSensitive: a[0]?.isTruthy ?? false, attribute: a[1], budget)
            var best: JinjaValue? = nil
            for item in try JinjaAccess.iterate(value) {
                guard let current = best else { best = item; continue }
                let better = name == "min" ? try JinjaOperators.less(try key(item), try key(current), budget)
                                           : try JinjaOperators.less(try key(current), try key(item), budget)
                if better { best = item }
            }
            return best ?? .undefined("No aggregated item, sequence was empty.")
        case "sum":
            let a = try bind(["attribute", "start"])
            let items = try JinjaAccess.iterate(value).map { item in try a[0].map { try lookupPath(item, $0, budget) } ?? item }
            let start = a[1] ?? .int(0)
            if case .string = start { throw JinjaFailure("sum() can't sum strings [use ''.join(seq) instead]") }
            if case .list(var total) = start {
                // Lists: one append per item, measured first (a `+` per item
                // would copy the growing total each time: quadratic).
                var count = total.count
                for item in items {
                    guard case .list(let more) = item else {
                        throw JinjaFailure("can only concatenate list (not \"\(item.typeName)\") to list")
                    }
                    count += more.count
                    try JinjaLimits.checkList(count: count)
                }
                total.reserveCapacity(count)
                for case .list(let more) in items { total += more }
                return .list(total)
            }
            var total = start
            for item in items { total = try JinjaOperators.binary(.add, total, item) }
            return total
        default:
            throw JinjaFailure("no filter named '\(name)'")
        }
    }

    static func length(_ value: JinjaValue) throws -> Int {
        switch value {
        case .undefined: return 0
        case .string(let s): return PythonString.scalarCount(s)
        case .list(let l): return l.count
        case .dict(let d): return d.entries.count
        default: throw JinjaFailure("object of type '\(value.typeName)' has no len()")
        }
    }

    /// jinja2's `title` filter: capitalize each run split at `-`, whitespace, `(`, `{`, `[`, `<`.
    private static func titleCase(_ s: String) -> String {
        func isSeparator(_ c: Unicode.Scalar) -> Bool { "-({[<".unicodeScalars.contains(c) || isPythonWhitespace(c) }
        var out = String.UnicodeScalarView()
        var previousWasSeparator: Bool? = nil
        for c in s.unicodeScalars {
            let separator = isSeparator(c)
            PythonString.appendCased(c, upper: separator != previousWasSeparator, to: &out)
            previousWasSeparator = separator
        }
        return String(out)
    }

    private static func htmlEscape(_ s: String) throws -> String {
        try PythonString.escapingASCII(s) { byte in
            switch byte {
            case UInt8(ascii: "&"): return "&amp;"
            case UInt8(ascii: "<"): return "&lt;"
            case UInt8(ascii: ">"): return "&gt;"
            case UInt8(ascii: "\""): return "&#34;"
            case UInt8(ascii: "'"): return "&#39;"
            default: return nil
            }
        }
    }

    /// `attribute='a.b.0'` paths of map/selectattr/sort/join.
    static func lookupPath(_ value: JinjaValue, _ path: JinjaValue, _ budget: JinjaBudget) throws -> JinjaValue {
        guard case .string(let text) = path else { return try JinjaAccess.item(of: value, path, budget) }
        var current = value
        for part in text.split(separator: ".", omittingEmptySubsequences: false) {
            let key: JinjaValue = Int(part).map { .int($0) } ?? .string(String(part))
            current = try JinjaAccess.item(of: current, key, budget)
        }
        return current
    }

    private static func sortKey(caseSensitive: Bool, attribute: JinjaValue?, _ budget: JinjaBudget) -> (JinjaValue) throws -> JinjaValue {
        { item in
            let key = try attribute.map { try lookupPath(item, $0, budget) } ?? item
            if !caseSensitive, case .string(let s) = key {
                try budget.charge(s.utf8.count)   // a new string per item
                return .string(s.lowercased())
            }
            return key
        }
    }

    private static func map(_ value: JinjaValue, _ args: JinjaArguments, _ budget: JinjaBudget) throws -> JinjaValue {
        let items = try JinjaAccess.iterate(value)
        if let attribute = args.keyword.first(where: { $0.name == "attribute" })?.value {
            let fallback = args.keyword.first(where: { $0.name == "default" })?.value
            return .list(try items.map { item in
                let found = try lookupPath(item, attribute, budget)
                if found.isUndefined, let fallback { return fallback }
                return found
            })
        }
        guard case .string(let filter)? = args.positional.first else {
            throw JinjaFailure("map() requires a filter name or attribute=")
        }
        guard isKnown(filter) else { throw JinjaFailure("no filter named '\(filter)'") }
        // map('map', 'map', …) would recurse once per argument, as deep as the value is nested.
        guard filter != "map" else { throw JinjaFailure("map() cannot apply map itself") }
        let rest = JinjaArguments(positional: Array(args.positional.dropFirst()), keyword: args.keyword)
        return .list(try items.map { try apply(filter, $0, rest, budget) })
    }

    private static func select(_ value: JinjaValue, _ args: JinjaArguments, byAttribute: Bool, keep: Bool,
                               _ budget: JinjaBudget) throws -> JinjaValue {
        var positional = args.positional[...]
        var attribute: JinjaValue? = nil
        if byAttribute {
            guard let first = positional.popFirst() else { throw JinjaFailure("selectattr/rejectattr need an attribute") }
            attribute = first
        }
        var test: String? = nil
        if let name = positional.popFirst() {
            guard case .string(let n) = name, JinjaTests.isKnown(n) else {
                throw JinjaFailure("no test named \(name.shortRepr)")
            }
            test = n
        }
        let testArguments = JinjaArguments(positional: Array(positional), keyword: args.keyword)
        var result: [JinjaValue] = []
        for item in try JinjaAccess.iterate(value) {
            let subject = try attribute.map { try lookupPath(item, $0, budget) } ?? item
            let passed = try test.map { try JinjaTests.apply($0, subject, testArguments, budget) } ?? subject.isTruthy
            if passed == keep { result.append(item) }
        }
        return .list(result)
    }

    /// jinja2's `int` filter: int(), then int(float()), else the default.
    private static func toInt(_ value: JinjaValue, default defaultValue: JinjaValue, base: JinjaValue?) throws -> JinjaValue {
        switch value {
        case .undefined(let message): throw JinjaFailure(message)
        case .int, .bool: return .int(value.numeric.map { if case .int(let i) = $0 { i } else { 0 } } ?? 0)
        case .float(let d):
            guard d.isFinite, Swift.abs(d) < 9.2e18 else { return defaultValue }
            return .int(Int(d))
        case .string(let s):
            var text = PythonString.strip(s, chars: nil)
            text.removeAll { $0 == "_" }
            var radix = 10
            if case .int(let b)? = base?.numeric, (2...36).contains(b) { radix = b }
            if let i = Int(text, radix: radix) { return .int(i) }
            if let d = Double(text), d.isFinite, Swift.abs(d) < 9.2e18 { return .int(Int(d)) }
            return defaultValue
        default:
            return defaultValue
        }
    }

    private static func toFloat(_ value: JinjaValue, default defaultValue: JinjaValue) throws -> JinjaValue {
        switch value {
        case .undefined(let message): throw JinjaFailure(message)
        case .int, .bool, .float: return .float(value.numeric?.asDouble ?? 0)
        case .string(let s):
            if let d = Double(PythonString.strip(s, chars: nil)) { return .float(d) }
            return defaultValue
        default:
            return defaultValue
        }
    }

    private static func toJSON(_ value: JinjaValue, _ a: [JinjaValue?], _ budget: JinjaBudget) throws -> JinjaValue {
        var encoder = JinjaJSON(budget: budget)
        encoder.ensureASCII = a[0]?.isTruthy ?? false
        switch a[1] {
        case nil, .none?: encoder.indent = nil
        case .string(let s)?: encoder.indent = s
        case let v?:
            guard case .int(let n)? = v.numeric else { throw JinjaFailure("indent must be an int or a string") }
            try JinjaLimits.checkString(byteCount: n)
            encoder.indent = PythonString.repeated(" ", count: max(0, n))
        }
        if encoder.indent != nil { encoder.itemSeparator = "," }
        if case .list(let separators)? = a[2] {
            guard separators.count == 2, case .string(let item) = separators[0], case .string(let key) = separators[1] else {
                throw JinjaFailure("separators must be a pair of strings")
            }
            encoder.itemSeparator = item
            encoder.keySeparator = key
        }
        encoder.sortKeys = a[3]?.isTruthy ?? false
        return .string(try encoder.encode(value))
    }

    /// jinja2's `indent`: indent every line but the first (unless `first`),
    /// skipping blank lines (unless `blank`).
    private static func indent(_ s: String, width: JinjaValue, first: Bool, blank: Bool) throws -> String {
        let indentation: String
        if case .string(let text) = width { indentation = text } else if case .int(let n)? = width.numeric {
            try JinjaLimits.checkString(byteCount: n)
            indentation = PythonString.repeated(" ", count: max(0, n))
        } else {
            indentation = "    "
        }
        let lines = PythonString.splitLines(s + "\n")
        let (added, overflow) = lines.count.multipliedReportingOverflow(by: indentation.utf8.count)
        if overflow { throw JinjaFailure("string result is too large") }
        try JinjaLimits.checkString(byteCount: s.utf8.count + added)
        var result: String
        if blank {
            result = lines.joined(separator: "\n" + indentation)
        } else {
            result = lines.first ?? ""
            let rest = lines.dropFirst()
            if !rest.isEmpty {
                result += "\n" + rest.map { $0.isEmpty ? $0 : indentation + $0 }.joined(separator: "\n")
            }
        }
        return first ? indentation + result : result
    }
}
