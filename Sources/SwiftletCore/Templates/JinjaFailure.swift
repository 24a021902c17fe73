/// A runtime failure from deep inside evaluation (a filter, an operator...),
/// which does not know where it happened. The evaluator attaches the
/// position of the innermost expression and turns it into a SwiftletError.
struct JinjaFailure: Error {
    let message: String
    /// True for the template's own `raise_exception(...)`.
    var raisedByTemplate = false

    init(_ message: String, raisedByTemplate: Bool = false) {
        self.message = message
        self.raisedByTemplate = raisedByTemplate
    }

    func positioned(at position: JinjaSourcePosition) -> SwiftletError {
        if raisedByTemplate {
            return SwiftletError(.template, "chat template raised an exception at \(position.description): \(message)")
        }
        return SwiftletError(.template, "chat template error at \(position.description): \(message)")
    }
}

/// Positional and keyword arguments of a call, already evaluated.
struct JinjaArguments {
    var positional: [JinjaValue] = []
    var keyword: [(name: String, value: JinjaValue)] = []

    /// Binds like a Python signature `f(name0, name1, ...)`: positional first,
    /// then keywords by name; unknown or duplicate arguments fail.
    func bind(_ names: [String], function: String) throws -> [JinjaValue?] {
        guard positional.count <= names.count else {
            throw JinjaFailure("\(function)() takes at most \(names.count) argument(s) (\(positional.count) given)")
        }
        var bound: [JinjaValue?] = positional.map { $0 }
        bound += Array(repeating: nil, count: names.count - positional.count)
        for (name, value) in keyword {
            guard let i = names.firstIndex(of: name) else {
                throw JinjaFailure("\(function)() got an unexpected keyword argument '\(name)'")
            }
            guard bound[i] == nil else { throw JinjaFailure("\(function)() got multiple values for argument '\(name)'") }
            bound[i] = value
        }
        return bound
    }
}
