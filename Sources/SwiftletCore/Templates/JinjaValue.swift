/// A runtime value inside a template: the slice of Python's object model that
/// chat templates touch. Lives only during one render, so it may hold the
/// mutable `namespace()` objects by reference.
enum JinjaValue {
    /// Jinja's default `Undefined`: prints as "", is falsy and iterates as
    /// empty, but raises (with this message) when used more deeply.
    case undefined(String)
    case none
    case bool(Bool)
    case int(Int)
    case float(Double)
    case string(String)
    case list([JinjaValue])
    case dict(JinjaDict)
    case namespace(JinjaNamespace)
    case builtin(JinjaBuiltin)
    case macro(JinjaMacro)

    var isUndefined: Bool { if case .undefined = self { return true } else { return false } }

    /// Python type name, for error messages that mirror jinja2's.
    var typeName: String {
        switch self {
        case .undefined: return "Undefined"
        case .none: return "NoneType"
        case .bool: return "bool"
        case .int: return "int"
        case .float: return "float"
        case .string: return "str"
        case .list: return "list"
        case .dict: return "dict"
        case .namespace: return "Namespace"
        case .builtin: return "function"
        case .macro: return "Macro"
        }
    }

    /// Python truthiness.
    var isTruthy: Bool {
        switch self {
        case .undefined, .none: return false
        case .bool(let b): return b
        case .int(let i): return i != 0
        case .float(let d): return d != 0
        case .string(let s): return !s.isEmpty
        case .list(let l): return !l.isEmpty
        case .dict(let d): return !d.entries.isEmpty
        case .namespace, .builtin, .macro: return true
        }
    }

    /// Python `str(value)` — what `{{ value }}` prints.
    var pythonString: String {
        switch self {
        case .undefined: return ""
        case .string(let s): return s
        default: return pythonRepr
        }
    }

    /// Python `repr(value)`, used inside printed lists and dicts.
    var pythonRepr: String { repr(depth: 0) }

    /// Containers nested deeper than this (only a hostile template builds
    /// them) print as `[...]` / compare unequal instead of overflowing the stack.
    static let maxNesting = 200

    private func repr(depth: Int) -> String {
        switch self {
        case .undefined: return ""
        case .none: return "None"
        case .bool(let b): return b ? "True" : "False"
        case .int(let i): return String(i)
        case .float(let d): return PythonString.floatRepr(d)
        case .string(let s): return PythonString.repr(s)
        case .list(let l):
            if depth >= Self.maxNesting { return "[...]" }
            return "[" + l.map { $0.repr(depth: depth + 1) }.joined(separator: ", ") + "]"
        case .dict(let d):
            if depth >= Self.maxNesting { return "{...}" }
            return "{" + d.entries.map { $0.key.repr(depth: depth + 1) + ": " + $0.value.repr(depth: depth + 1) }.joined(separator: ", ") + "}"
        case .namespace(let n): return "<Namespace " + JinjaValue.dict(n.attributes).repr(depth: depth + 1) + ">"
        case .builtin(let b): return "<function \(b.rawValue)>"
        case .macro(let m): return "<Macro '\(m.name)'>"
        }
    }

    /// Container nesting depth, walking no deeper than `limit + 1`;
    /// `visited` counts the nodes looked at (charged as work).
    func nestingDepth(limit: Int, visited: inout Int) -> Int {
        visited += 1
        guard limit >= 0 else { return 1 }
        switch self {
        case .list(let items):
            var deepest = 0
            for item in items {
                deepest = max(deepest, item.nestingDepth(limit: limit - 1, visited: &visited))
                if deepest > limit { break }
            }
            return deepest + 1
        case .dict(let d):
            var deepest = 0
            for entry in d.entries {
                deepest = max(deepest, entry.key.nestingDepth(limit: limit - 1, visited: &visited),
                              entry.value.nestingDepth(limit: limit - 1, visited: &visited))
                if deepest > limit { break }
            }
            return deepest + 1
        default:
            return 0
        }
    }

    /// Python `==` (True == 1 == 1.0; containers compare element-wise).
    func pythonEquals(_ other: JinjaValue) -> Bool { equals(other, depth: 0) }

    private func equals(_ other: JinjaValue, depth: Int) -> Bool {
        switch (self, other) {
        case (.undefined, .undefined), (.none, .none): return true
        case (.string(let a), .string(let b)): return PythonString.equal(a, b)
        case (.list(let a), .list(let b)):
            guard depth < Self.maxNesting else { return false }
            return a.count == b.count && zip(a, b).allSatisfy { $0.equals($1, depth: depth + 1) }
        case (.dict(let a), .dict(let b)):
            guard depth < Self.maxNesting else { return false }
            return a.entries.count == b.entries.count
                && a.entries.allSatisfy { entry in b[entry.key].map { $0.equals(entry.value, depth: depth + 1) } ?? false }
        case (.namespace(let a), .namespace(let b)): return a === b
        case (.builtin(let a), .builtin(let b)): return a == b
        case (.macro(let a), .macro(let b)): return a === b
        default:
            if let a = numeric, let b = other.numeric { return a == b }
            return false
        }
    }

    /// Numbers (bools count, as in Python) for arithmetic and comparisons.
    enum Number: Equatable {
        case int(Int), float(Double)
        var asDouble: Double { switch self { case .int(let i): return Double(i); case .float(let d): return d } }
        static func == (a: Number, b: Number) -> Bool {
            if case .int(let x) = a, case .int(let y) = b { return x == y }
            return a.asDouble == b.asDouble
        }
    }

    var numeric: Number? {
        switch self {
        case .bool(let b): return .int(b ? 1 : 0)
        case .int(let i): return .int(i)
        case .float(let d): return .float(d)
        default: return nil
        }
    }
}

/// An insertion-ordered dict with Python-equality keys. Chat-template dicts
/// are tiny (a message has a handful of keys), so a linear scan is fine.
struct JinjaDict {
    struct Entry {
        var key: JinjaValue
        var value: JinjaValue
    }

    var entries: [Entry] = []

    subscript(key: JinjaValue) -> JinjaValue? {
        entries.first { $0.key.pythonEquals(key) }?.value
    }

    subscript(name: String) -> JinjaValue? { self[.string(name)] }

    mutating func set(_ key: JinjaValue, _ value: JinjaValue) {
        if let i = entries.firstIndex(where: { $0.key.pythonEquals(key) }) {
            entries[i].value = value
        } else {
            entries.append(Entry(key: key, value: value))
        }
    }
}

/// `namespace()`: the one mutable object, so `{% set ns.x = ... %}` inside a
/// loop is visible after it (plain `set` is scoped to the loop body).
final class JinjaNamespace {
    var attributes = JinjaDict()
}

/// A `{% macro %}` bound for calling.
final class JinjaMacro {
    let name: String
    let parameters: [(name: String, defaultValue: JinjaExpr?)]
    let body: [JinjaNode]

    init(name: String, parameters: [(name: String, defaultValue: JinjaExpr?)], body: [JinjaNode]) {
        self.name = name
        self.parameters = parameters
        self.body = body
    }
}

/// Global functions a template can call by name.
enum JinjaBuiltin: String, CaseIterable {
    case range, namespace, dict
    case raiseException = "raise_exception"
}
