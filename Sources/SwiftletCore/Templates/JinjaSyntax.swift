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
