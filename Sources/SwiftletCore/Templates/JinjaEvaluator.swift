/// Expression evaluation. Failures from helpers get the position of the
/// innermost expression that raised them.
///
/// Budgets (JinjaBudget): an operation charges the strings it scans and the
/// value it builds; comparisons and lookups charge what they walk. A loop of
/// cheap-looking operations on a huge string ends quickly. Recursion is
/// counted (`enter`) against JinjaLimits.maxEvaluationDepth.
extension JinjaRenderer {
    func evaluate(_ expr: JinjaExpr) throws -> JinjaValue {
        do {
            try enter()
            defer { leave() }
            return try evaluateUnpositioned(expr)
        } catch let failure as JinjaFailure {
            throw failure.positioned(at: expr.position)
        }
    }

    private func evaluateUnpositioned(_ expr: JinjaExpr) throws -> JinjaValue {
        switch expr.kind {
        case .literal(let literal):
            switch literal {
            case .none: return .none
            case .bool(let b): return .bool(b)
            case .int(let i): return .int(i)
            case .float(let d): return .float(d)
            case .string(let s): return .string(s)
            }
        case .name(let name):
            return lookup(name)
        case .list(let items):
            return .list(try items.map(evaluate))
        case .dict(let pairs):
            var dict = JinjaDict()
            for pair in pairs { try dict.set(try evaluate(pair.key), try evaluate(pair.value), budget) }
            return .dict(dict)
        case .attribute(let base, let name):
            return try JinjaAccess.attribute(of: try evaluate(base), name, budget)
        case .item(let base, let key):
            let value = try evaluate(base), keyValue = try evaluate(key)
            if case .string = value { try chargeSize(of: value) }   // indexing code points scans the string
            return try JinjaAccess.item(of: value, keyValue, budget)
        case .slice(let base, let start, let stop, let step):
            let value = try evaluate(base)
            if case .string = value { try chargeSize(of: value) }   // code points are counted to find the cut
            let result = try JinjaAccess.slice(value,
                                               start: try start.map(evaluate),
                                               stop: try stop.map(evaluate),
                                               step: try step.map(evaluate), budget)
            try chargeSize(of: result)
            return result
        case .call(let callee, let argumentList):
            return try evaluateCall(callee, argumentList)
        case .filter(let base, let name, let argumentList):
            return try applyFilter(name, to: try evaluate(base), argumentList, at: expr.position)
        case .test(let base, let name, let argumentList, let negated):
            let value = try evaluate(base)
            let arguments = try evaluateArguments(argumentList)
            try chargeStrings(value, arguments)
            let result = try JinjaTests.apply(name, value, arguments, budget)
            return .bool(result != negated)
        case .not(let operand):
            return .bool(!(try evaluate(operand).isTruthy))
        case .negate(let operand):
            return try JinjaOperators.negate(try evaluate(operand))
        case .plus(let operand):
            let value = try evaluate(operand)
            if case .undefined(let message) = value { throw JinjaFailure(message) }
            guard value.numeric != nil else { throw JinjaFailure("bad operand type for unary +: '\(value.typeName)'") }
            return value
        case .binary(let op, let left, let right):
            let result = try JinjaOperators.binary(op, try evaluate(left), try evaluate(right))
            try chargeSize(of: result)
            return result
        case .compare(let first, let rest):
            // Python chaining: a < b < c means a < b and b < c.
            var left = try evaluate(first)
            for (op, rightExpr) in rest {
                let right = try evaluate(rightExpr)
                guard try JinjaOperators.compare(op, left, right, budget) else { return .bool(false) }
                left = right
            }
            return .bool(true)
        case .and(let left, let right):
            // Like Python, `and`/`or` yield an operand, not a bool.
            let l = try evaluate(left)
            return l.isTruthy ? try evaluate(right) : l
        case .or(let left, let right):
            let l = try evaluate(left)
            return l.isTruthy ? l : try evaluate(right)
        case .conditional(let then, let condition, let otherwise):
            if try evaluate(condition).isTruthy { return try evaluate(then) }
            return try otherwise.map(evaluate) ?? .undefined("the inline if-expression evaluated to false and no else section was defined")
        }
    }

    func evaluateArguments(_ list: JinjaArgumentList) throws -> JinjaArguments {
        JinjaArguments(positional: try list.positional.map(evaluate),
                       keyword: try list.keyword.map { ($0.name, try evaluate($0.value)) })
    }

    func applyFilter(_ name: String, to value: JinjaValue, _ list: JinjaArgumentList, at position: JinjaSourcePosition) throws -> JinjaValue {
        let arguments = try evaluateArguments(list)
        do {
            try chargeStrings(value, arguments)
            let result = try JinjaFilters.apply(name, value, arguments, budget)
            try chargeSize(of: result)
            return result
        } catch let failure as JinjaFailure {
            throw failure.positioned(at: position)
        }
    }

    /// `obj.method(...)` goes to the Python method of strings/dicts first,
    /// then falls back to calling whatever the attribute holds.
    private func evaluateCall(_ callee: JinjaExpr, _ list: JinjaArgumentList) throws -> JinjaValue {
        if case .attribute(let baseExpr, let name) = callee.kind {
            let base = try evaluate(baseExpr)
            let arguments = try evaluateArguments(list)
            try chargeStrings(base, arguments)
            if let result = try JinjaMethods.call(base, name, arguments, budget) {
                try chargeSize(of: result)
                return result
            }
            return try call(try JinjaAccess.attribute(of: base, name, budget), arguments)
        }
        let function = try evaluate(callee)
        return try call(function, try evaluateArguments(list))
    }

    func call(_ function: JinjaValue, _ arguments: JinjaArguments) throws -> JinjaValue {
        switch function {
        case .builtin(let builtin):
            let result = try JinjaBuiltins.call(builtin, arguments, budget)
            if case .namespace(let namespace) = result { namespaces.append(namespace) }
            try chargeSize(of: result)
            return result
        case .macro(let macro): return try callMacro(macro, arguments)
        case .undefined(let message): throw JinjaFailure(message)
        default: throw JinjaFailure("'\(function.typeName)' object is not callable")
        }
    }

    /// Charges what a filter, test or method may scan in one pass: its string
    /// input and arguments (`s.find(t)`, `s|length`). Lists are not charged
    /// here: what is done per item is (comparisons, lookups, results), and a
    /// template asking `messages|length` in every iteration stays cheap.
    private func chargeStrings(_ value: JinjaValue, _ arguments: JinjaArguments) throws {
        func bytes(_ value: JinjaValue) -> Int { if case .string(let s) = value { s.utf8.count } else { 0 } }
        var total = bytes(value)
        for argument in arguments.positional { total += bytes(argument) }
        for argument in arguments.keyword { total += bytes(argument.value) }
        try charge(total)
    }

    /// Python iteration: lists, strings (code points), dict keys; Undefined is empty.
    func iterate(_ value: JinjaValue) throws -> [JinjaValue] {
        try JinjaAccess.iterate(value)
    }
}
