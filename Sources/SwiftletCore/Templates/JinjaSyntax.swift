/// The parsed form of a template: statements (`JinjaNode`) holding
/// expressions (`JinjaExpr`). Immutable and Sendable, so one parsed
/// `ChatTemplate` can render on many threads at once.

struct JinjaExpr: Sendable {
    indirect enum Kind: Sendable {
        case literal(JinjaLiteral)
        case name(String)
        case list([JinjaExpr])
        case dict([(key: JinjaExpr, value: JinjaExpr)])
        case attribute(JinjaExpr, String)                 // a.b
        case item(JinjaExpr, JinjaExpr)                   // a[b]
        case slice(JinjaExpr, start: JinjaExpr?, stop: JinjaExpr?, step: JinjaExpr?)
        case call(JinjaExpr, JinjaArgumentList)
        case filter(JinjaExpr, name: String, JinjaArgumentList)
        case test(JinjaExpr, name: String, JinjaArgumentList, negated: Bool)
        case not(JinjaExpr)
        case negate(JinjaExpr)
        case plus(JinjaExpr)
        case binary(JinjaBinaryOperator, JinjaExpr, JinjaExpr)
        case compare(JinjaExpr, [(op: JinjaCompareOperator, JinjaExpr)])   // chained: a < b < c
        case and(JinjaExpr, JinjaExpr)
        case or(JinjaExpr, JinjaExpr)
        case conditional(then: JinjaExpr, condition: JinjaExpr, otherwise: JinjaExpr?)
    }

    let kind: Kind
    let position: JinjaSourcePosition
    /// 1 + the depth of the deepest child (a leaf is 1). Every walk over an
    /// expression (evaluation, and Swift's own release of the tree) recurses
    /// this deep, so it is bounded where trees are built: here.
    let depth: Int

    /// Throws a syntax error at `position` when the node would be deeper than
    /// `JinjaLimits.maxExpressionDepth`. Chains count: `1+1+1` is 3 deep.
    /// The parser builds only through here, so no tree it returns or drops
    /// half-built is deeper than the limit.
    init(kind: Kind, position: JinjaSourcePosition) throws {
        let depth = 1 + kind.deepestChild
        guard depth <= JinjaLimits.maxExpressionDepth else {
            throw jinjaSyntaxError("expression nested too deeply (more than \(JinjaLimits.maxExpressionDepth) levels)",
                                   at: position)
        }
        self.kind = kind
        self.position = position
        self.depth = depth
    }
}

extension JinjaExpr.Kind {
    fileprivate var deepestChild: Int {
        func deepest(_ exprs: [JinjaExpr]) -> Int { exprs.reduce(0) { max($0, $1.depth) } }
        func deepest(_ optional: JinjaExpr?) -> Int { optional?.depth ?? 0 }
        func deepest(_ arguments: JinjaArgumentList) -> Int {
            max(deepest(arguments.positional), deepest(arguments.keyword.map(\.value)))
        }
        switch self {
        case .literal, .name: return 0
        case .list(let items): return deepest(items)
        case .dict(let pairs): return pairs.reduce(0) { max($0, $1.key.depth, $1.value.depth) }
        case .attribute(let base, _): return base.depth
        case .item(let base, let key): return max(base.depth, key.depth)
        case .slice(let base, let start, let stop, let step):
            return max(base.depth, deepest(start), deepest(stop), deepest(step))
        case .call(let callee, let arguments): return max(callee.depth, deepest(arguments))
        case .filter(let base, _, let arguments): return max(base.depth, deepest(arguments))
        case .test(let base, _, let arguments, _): return max(base.depth, deepest(arguments))
        case .not(let operand), .negate(let operand), .plus(let operand): return operand.depth
        case .binary(_, let left, let right), .and(let left, let right), .or(let left, let right):
            return max(left.depth, right.depth)
        case .compare(let first, let rest): return max(first.depth, deepest(rest.map(\.1)))
        case .conditional(let then, let condition, let otherwise):
            return max(then.depth, condition.depth, deepest(otherwise))
        }
    }
}

enum JinjaLiteral: Sendable {
    case none, bool(Bool), int(Int), float(Double), string(String)
}

enum JinjaBinaryOperator: String, Sendable {
    case add = "+", subtract = "-", multiply = "*", divide = "/", floorDivide = "//"
    case modulo = "%", power = "**", concat = "~"
}

enum JinjaCompareOperator: String, Sendable {
    case equal = "==", notEqual = "!=", less = "<", lessOrEqual = "<=", greater = ">", greaterOrEqual = ">="
    case contains = "in", notContains = "not in"
}

struct JinjaArgumentList: Sendable {
    var positional: [JinjaExpr] = []
    var keyword: [(name: String, value: JinjaExpr)] = []
}

/// What `{% set %}` and `{% for %}` assign to.
enum JinjaAssignTarget: Sendable {
    case name(String)
    case names([String])                          // tuple unpacking: for k, v in ...
    case attribute(object: String, attribute: String)   // ns.x (namespace objects only)
}

struct JinjaForLoop: Sendable {
    let target: JinjaAssignTarget
    let iterable: JinjaExpr
    let filter: JinjaExpr?
    let body: [JinjaNode]
    let otherwise: [JinjaNode]
    let position: JinjaSourcePosition
}

struct JinjaFilterCall: Sendable {
    let name: String
    let arguments: JinjaArgumentList
    let position: JinjaSourcePosition
}

indirect enum JinjaNode: Sendable {
    case text(String)
    case output(JinjaExpr)
    case conditional(branches: [(condition: JinjaExpr, body: [JinjaNode])], otherwise: [JinjaNode])
    case forLoop(JinjaForLoop)
    case set(JinjaAssignTarget, JinjaExpr, JinjaSourcePosition)
    case setBlock(JinjaAssignTarget, body: [JinjaNode], filters: [JinjaFilterCall], JinjaSourcePosition)
    case macro(name: String, parameters: [(name: String, defaultValue: JinjaExpr?)], body: [JinjaNode])
    case loopBreak(JinjaSourcePosition)
    case loopContinue(JinjaSourcePosition)
}
