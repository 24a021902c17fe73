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

    /// Python `str(value)` — what `{{ value }}` prints. Throws past
    /// JinjaLimits.maxStringBytes (a list holding one long string many times
    /// prints far longer than it is).
    func pythonString() throws -> String {
        switch self {
        case .undefined: return ""
        case .string(let s): return s
        default: return try pythonRepr()
        }
    }

    /// Python `repr(value)`, used inside printed lists and dicts.
    func pythonRepr() throws -> String {
        var out = JinjaTextBuffer()
        try writeRepr(into: &out, depth: 0)
        return out.text
    }

    /// `repr` for error messages: at most a couple hundred bytes.
    var shortRepr: String {
        var out = JinjaTextBuffer(limit: 200)
        if (try? writeRepr(into: &out, depth: JinjaLimits.maxValueNesting - 2)) != nil { return out.text }
        return "<\(typeName) object>"
    }

    /// Containers nested deeper than JinjaLimits.maxValueNesting (only a hostile
    /// template builds them) print as `[...]` / compare unequal instead of
    /// overflowing the stack.
    private func writeRepr(into out: inout JinjaTextBuffer, depth: Int) throws {
        switch self {
        case .undefined: return
        case .none: try out.append("None")
        case .bool(let b): try out.append(b ? "True" : "False")
        case .int(let i): try out.append(String(i))
        case .float(let d): try out.append(PythonString.floatRepr(d))
        case .string(let s):
            try JinjaLimits.checkString(byteCount: s.utf8.count)
            try out.append(try PythonString.repr(s))
        case .list(let l):
            if depth >= JinjaLimits.maxValueNesting { return try out.append("[...]") }
            try out.append("[")
            for (i, item) in l.enumerated() {
                if i > 0 { try out.append(", ") }
                try item.writeRepr(into: &out, depth: depth + 1)
            }
            try out.append("]")
        case .dict(let d):
            if depth >= JinjaLimits.maxValueNesting { return try out.append("{...}") }
            try out.append("{")
            for (i, entry) in d.entries.enumerated() {
                if i > 0 { try out.append(", ") }
                try entry.key.writeRepr(into: &out, depth: depth + 1)
                try out.append(": ")
                try entry.value.writeRepr(into: &out, depth: depth + 1)
            }
            try out.append("}")
        case .namespace(let n):
            try out.append("<Namespace ")
            try JinjaValue.dict(n.attributes).writeRepr(into: &out, depth: depth + 1)
            try out.append(">")
        case .builtin(let b): try out.append("<function \(b.rawValue)>")
        case .macro(let m): try out.append("<Macro '\(m.name)'>")
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

    /// Python `==` (True == 1 == 1.0; containers compare element-wise), its
    /// work charged to `budget`: comparing nested values can cost far more
    /// than their top-level sizes.
    func pythonEquals(_ other: JinjaValue, _ budget: JinjaBudget) throws -> Bool {
        try equals(other, depth: 0, budget)
    }

    private func equals(_ other: JinjaValue, depth: Int, _ budget: JinjaBudget) throws -> Bool {
        try budget.chargeValues(1)
        switch (self, other) {
        case (.undefined, .undefined), (.none, .none): return true
        case (.string(let a), .string(let b)): return try PythonString.equal(a, b, budget)
        case (.list(let a), .list(let b)):
            guard depth < JinjaLimits.maxValueNesting, a.count == b.count else { return false }
            for (x, y) in zip(a, b) where try !x.equals(y, depth: depth + 1, budget) { return false }
            return true
        case (.dict(let a), .dict(let b)):
            guard depth < JinjaLimits.maxValueNesting, a.entries.count == b.entries.count else { return false }
            for entry in a.entries {
                guard let value = try b.value(for: entry.key, budget), try value.equals(entry.value, depth: depth + 1, budget) else {
                    return false
                }
            }
            return true
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
/// are tiny (a message has a handful of keys), so a linear scan is fine; the
/// scan is charged to the render's budget, which keeps a hostile one bounded.
struct JinjaDict {
    struct Entry {
        var key: JinjaValue
        var value: JinjaValue
    }

    var entries: [Entry] = []

    private func index(of key: JinjaValue, _ budget: JinjaBudget) throws -> Int? {
        for (i, entry) in entries.enumerated() where try entry.key.pythonEquals(key, budget) { return i }
        return nil
    }

    func value(for key: JinjaValue, _ budget: JinjaBudget) throws -> JinjaValue? {
        try index(of: key, budget).map { entries[$0].value }
    }

    func value(named name: String, _ budget: JinjaBudget) throws -> JinjaValue? {
        try value(for: .string(name), budget)
    }

    mutating func set(_ key: JinjaValue, _ value: JinjaValue, _ budget: JinjaBudget) throws {
        if let i = try index(of: key, budget) {
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
