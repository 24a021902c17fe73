/// Expression grammar, with jinja2's precedence (lowest first):
/// `x if c else y` < or < and < not < comparisons/in < + - < ~ < * / // % < ** < unary
/// and filters/tests/calls/attributes bind tightest.
///
/// Stack: the parser recurses only into brackets (and the `else` of an inline
/// if), each through `parseExpression`, which counts against
/// JinjaLimits.maxParseNesting; every chain (`a+b+…`, `x|f|g…`, `a.b.c…`,
/// `not not …`, `- - …`) is a loop.
extension JinjaParser {
    /// A comma-separated sequence becomes a tuple (a list value), as in `{{ a, b }}`.
    mutating func parseTuple(allowCondition: Bool, endNames: Set<String> = []) throws -> JinjaExpr {
        let start = current.position
        let first = allowCondition ? try parseExpression() : try parseOr()
        guard isOp(",") else { return first }
        var items = [first]
        while skipOp(",") {
            if isTupleEnd(endNames) { break }
            items.append(allowCondition ? try parseExpression() : try parseOr())
        }
        return try JinjaExpr(kind: .list(items), position: start)
    }

    func isTupleEnd(_ endNames: Set<String>) -> Bool {
        switch current.kind {
        case .variableEnd, .blockEnd, .end: return true
        case .op(let o): return o == ")" || o == "]" || o == "}" || o == "="
        case .name(let n): return endNames.contains(n)
        default: return false
        }
    }

    /// Full expression including the inline conditional.
    mutating func parseExpression() throws -> JinjaExpr {
        try enter()
        defer { depth -= 1 }
        var expr = try parseOr()
        while isName("if") {
            let position = advance().position
            let condition = try parseOr()
            var otherwise: JinjaExpr? = nil
            if skipName("else") { otherwise = try parseExpression() }
            expr = try JinjaExpr(kind: .conditional(then: expr, condition: condition, otherwise: otherwise), position: position)
        }
        return expr
    }

    mutating func parseOr() throws -> JinjaExpr {
        try parseBinary(atLeast: .or)
    }

    /// The binary operators' levels, loosest first, as jinja2's parse_or,
    /// parse_and, parse_not, parse_compare, parse_math1, parse_concat,
    /// parse_math2, parse_pow nest them; `unary` (no operator) is tighter than all.
    enum Level: Int, Comparable {
        case or, and, not, compare, additive, concat, multiplicative, power, unary

        static func < (a: Level, b: Level) -> Bool { a.rawValue < b.rawValue }
        /// The level of a left-associative operator's right operand.
        var next: Level { Level(rawValue: rawValue + 1) ?? .unary }
    }

    private enum Infix {
        case or, and, compare, binary(JinjaBinaryOperator)
    }

    /// The infix operator at the current token and its level, if any.
    private func infixOperator() -> (Infix, Level)? {
        switch current.kind {
        case .name("or"): return (.or, .or)
        case .name("and"): return (.and, .and)
        case .name("in"): return (.compare, .compare)
        case .name("not") where isName("in", peek()): return (.compare, .compare)
        case .op(let o):
            if JinjaCompareOperator(rawValue: o) != nil { return (.compare, .compare) }
            guard let op = JinjaBinaryOperator(rawValue: o) else { return nil }
            switch op {
            case .add, .subtract: return (.binary(op), .additive)
            case .concat: return (.binary(op), .concat)
            case .multiply, .divide, .floorDivide, .modulo: return (.binary(op), .multiplicative)
            case .power: return (.binary(op), .power)
            }
        default:
            return nil
        }
    }

    /// Precedence climbing: an operand, then every operator of level
    /// `minimum` or tighter, left-associative (`**` too, as in jinja2). A
    /// chain (`1+1+…`, `2**2**…`) is a loop; each recursion asks for a
    /// strictly tighter level, so a parenthesis costs at most ten frames
    /// whatever its contents.
    mutating func parseBinary(atLeast minimum: Level) throws -> JinjaExpr {
        var left: JinjaExpr
        if minimum <= .not, isName("not") {
            // `not not x`: collected in a loop; `not` binds looser than comparisons.
            var nots: [JinjaSourcePosition] = []
            while isName("not") { nots.append(advance().position) }
            left = try parseBinary(atLeast: .compare)
            for position in nots.reversed() { left = try JinjaExpr(kind: .not(left), position: position) }
        } else {
            left = try parseUnary(withFilters: true)
        }
        while let (infix, level) = infixOperator(), level >= minimum {
            switch infix {
            case .compare:
                left = try parseComparisons(after: left)
            case .or:
                let position = advance().position
                left = try JinjaExpr(kind: .or(left, try parseBinary(atLeast: .and)), position: position)
            case .and:
                let position = advance().position
                left = try JinjaExpr(kind: .and(left, try parseBinary(atLeast: .not)), position: position)
            case .binary(let op):
                let position = advance().position
                left = try JinjaExpr(kind: .binary(op, left, try parseBinary(atLeast: level.next)), position: position)
            }
        }
        return left
    }

    /// `a < b <= c in d`: one node for the chain (Python compares pairwise).
    private mutating func parseComparisons(after first: JinjaExpr) throws -> JinjaExpr {
        var rest: [(op: JinjaCompareOperator, JinjaExpr)] = []
        while true {
            if case .op(let o) = current.kind, let op = JinjaCompareOperator(rawValue: o) {
                _ = advance()
                rest.append((op, try parseBinary(atLeast: .additive)))
            } else if isName("in") {
                _ = advance()
                rest.append((.contains, try parseBinary(atLeast: .additive)))
            } else if isName("not"), isName("in", peek()) {
                _ = advance()
                _ = advance()
                rest.append((.notContains, try parseBinary(atLeast: .additive)))
            } else {
                break
            }
        }
        return try JinjaExpr(kind: .compare(first, rest), position: first.position)
    }

    /// jinja2's parse_unary: `-`/`+` apply to a primary with its postfix
    /// (`-a.b[0]`), filters to the whole (`-x|abs` is abs(-x)). The signs are
    /// collected in a loop, so `- - - x` does not recurse per sign.
    mutating func parseUnary(withFilters: Bool) throws -> JinjaExpr {
        var signs: [(negate: Bool, position: JinjaSourcePosition)] = []
        while isOp("-") || isOp("+") {
            let negate = isOp("-")
            signs.append((negate, advance().position))
        }
        var expr = try parsePostfix(try parsePrimary())
        for sign in signs.reversed() {
            expr = try JinjaExpr(kind: sign.negate ? .negate(expr) : .plus(expr), position: sign.position)
        }
        if withFilters { expr = try parseFiltersAndTests(expr) }
        return expr
    }

    mutating func parsePrimary() throws -> JinjaExpr {
        let token = advance()
        let position = token.position
        switch token.kind {
        case .name(let name):
            switch name {
            case "true", "True": return try JinjaExpr(kind: .literal(.bool(true)), position: position)
            case "false", "False": return try JinjaExpr(kind: .literal(.bool(false)), position: position)
            case "none", "None": return try JinjaExpr(kind: .literal(.none), position: position)
            default: return try JinjaExpr(kind: .name(name), position: position)
            }
        case .string(var text):
            while case .string(let more) = current.kind {   // "a" "b" concatenates
                text += more
                _ = advance()
            }
            return try JinjaExpr(kind: .literal(.string(text)), position: position)
        case .integer(let i): return try JinjaExpr(kind: .literal(.int(i)), position: position)
        case .float(let d): return try JinjaExpr(kind: .literal(.float(d)), position: position)
        case .op("("):
            if skipOp(")") { return try JinjaExpr(kind: .list([]), position: position) }
            let inner = try parseTuple(allowCondition: true)
            try expectOp(")")
            return inner
        case .op("["):
            var items: [JinjaExpr] = []
            while !skipOp("]") {
                if !items.isEmpty {
                    try expectOp(",")
                    if skipOp("]") { break }
                }
                items.append(try parseExpression())
            }
            return try JinjaExpr(kind: .list(items), position: position)
        case .op("{"):
            var pairs: [(key: JinjaExpr, value: JinjaExpr)] = []
            while !skipOp("}") {
                if !pairs.isEmpty {
                    try expectOp(",")
                    if skipOp("}") { break }
                }
                let key = try parseExpression()
                try expectOp(":")
                pairs.append((key, try parseExpression()))
            }
            return try JinjaExpr(kind: .dict(pairs), position: position)
        default:
            throw error("unexpected \(token.display)", token)
        }
    }

    mutating func parsePostfix(_ base: JinjaExpr) throws -> JinjaExpr {
        var expr = base
        while true {
            if isOp(".") {
                let position = advance().position
                switch current.kind {
                case .name(let name):
                    _ = advance()
                    expr = try JinjaExpr(kind: .attribute(expr, name), position: position)
                case .integer(let i):
                    _ = advance()
                    expr = try JinjaExpr(kind: .item(expr, try JinjaExpr(kind: .literal(.int(i)), position: position)), position: position)
                default:
                    throw error("expected an attribute name after '.', found \(current.display)")
                }
            } else if isOp("[") {
                let position = advance().position
                expr = try parseSubscript(expr, at: position)
            } else if isOp("(") {
                let position = current.position
                expr = try JinjaExpr(kind: .call(expr, try parseCallArguments()), position: position)
            } else {
                return expr
            }
        }
    }

    /// After `[`: an index `a[i]` or a slice `a[start:stop:step]`.
    mutating func parseSubscript(_ base: JinjaExpr, at position: JinjaSourcePosition) throws -> JinjaExpr {
        var start: JinjaExpr? = nil
        if !isOp(":") {
            start = try parseExpression()
            if skipOp("]") { return try JinjaExpr(kind: .item(base, start!), position: position) }
        }
        try expectOp(":")
        var stop: JinjaExpr? = nil, step: JinjaExpr? = nil
        if !isOp("]") && !isOp(":") { stop = try parseExpression() }
        if skipOp(":"), !isOp("]") { step = try parseExpression() }
        try expectOp("]")
        return try JinjaExpr(kind: .slice(base, start: start, stop: stop, step: step), position: position)
    }

    /// `( positional..., name=value... )`
    mutating func parseCallArguments() throws -> JinjaArgumentList {
        try expectOp("(")
        var arguments = JinjaArgumentList()
        var first = true
        while !skipOp(")") {
            if !first {
                try expectOp(",")
                if skipOp(")") { break }
            }
            first = false
            if isOp("*") || isOp("**") { throw error("*args and **kwargs in calls are not supported") }
            if case .name(let name) = current.kind, case .op("=") = peek().kind {
                _ = advance()
                _ = advance()
                arguments.keyword.append((name, try parseExpression()))
            } else {
                if !arguments.keyword.isEmpty { throw error("positional argument follows keyword argument") }
                arguments.positional.append(try parseExpression())
            }
        }
        return arguments
    }

    mutating func parseFilterCall() throws -> JinjaFilterCall {
        let position = current.position
        var name = try expectName()
        while isOp("."), case .name(let part) = peek().kind {
            _ = advance()
            _ = advance()
            name += "." + part
        }
        guard JinjaFilters.isKnown(name) else { throw jinjaSyntaxError("no filter named '\(name)'", at: position) }
        let arguments = isOp("(") ? try parseCallArguments() : JinjaArgumentList()
        return JinjaFilterCall(name: name, arguments: arguments, position: position)
    }

    /// `| filter(args)`, `is [not] test args`, and calls on their results.
    mutating func parseFiltersAndTests(_ base: JinjaExpr) throws -> JinjaExpr {
        var expr = base
        while true {
            if isOp("|") {
                _ = advance()
                let call = try parseFilterCall()
                expr = try JinjaExpr(kind: .filter(expr, name: call.name, call.arguments), position: call.position)
            } else if isName("is") {
                _ = advance()
                let negated = skipName("not")
                let position = current.position
                let name = try expectName()
                guard JinjaTests.isKnown(name) else { throw jinjaSyntaxError("no test named '\(name)'", at: position) }
                var arguments = JinjaArgumentList()
                if isOp("(") {
                    arguments = try parseCallArguments()
                } else if startsBareTestArgument() {
                    arguments.positional = [try parsePostfix(try parsePrimary())]
                }
                expr = try JinjaExpr(kind: .test(expr, name: name, arguments, negated: negated), position: position)
            } else if isOp("(") {
                let position = current.position
                expr = try JinjaExpr(kind: .call(expr, try parseCallArguments()), position: position)
            } else {
                return expr
            }
        }
    }

    /// `x is divisibleby 3`: jinja2 takes one primary argument without parentheses.
    private func startsBareTestArgument() -> Bool {
        switch current.kind {
        case .name(let n): return !["else", "or", "and"].contains(n)
        case .string, .integer, .float: return true
        case .op(let o): return o == "[" || o == "{"
        default: return false
        }
    }
}
