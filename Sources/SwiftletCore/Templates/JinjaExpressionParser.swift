/// Expression grammar, with jinja2's precedence (lowest first):
/// `x if c else y` < or < and < not < comparisons/in < + - < ~ < * / // % < ** < unary
/// and filters/tests/calls/attributes bind tightest.
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
        return JinjaExpr(kind: .list(items), position: start)
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
            expr = JinjaExpr(kind: .conditional(then: expr, condition: condition, otherwise: otherwise), position: position)
        }
        return expr
    }

    mutating func parseOr() throws -> JinjaExpr {
        var left = try parseAnd()
        while isName("or") {
            let position = advance().position
            left = JinjaExpr(kind: .or(left, try parseAnd()), position: position)
        }
        return left
    }

    mutating func parseAnd() throws -> JinjaExpr {
        var left = try parseNot()
        while isName("and") {
            let position = advance().position
            left = JinjaExpr(kind: .and(left, try parseNot()), position: position)
        }
        return left
    }

    mutating func parseNot() throws -> JinjaExpr {
        if isName("not") {
            try enter()
            defer { depth -= 1 }
            let position = advance().position
            return JinjaExpr(kind: .not(try parseNot()), position: position)
        }
        return try parseCompare()
    }

    mutating func parseCompare() throws -> JinjaExpr {
        let first = try parseAdditive()
        var rest: [(op: JinjaCompareOperator, JinjaExpr)] = []
        while true {
            if case .op(let o) = current.kind, let op = JinjaCompareOperator(rawValue: o) {
                _ = advance()
                rest.append((op, try parseAdditive()))
            } else if isName("in") {
                _ = advance()
                rest.append((.contains, try parseAdditive()))
            } else if isName("not"), isName("in", peek()) {
                _ = advance()
                _ = advance()
                rest.append((.notContains, try parseAdditive()))
            } else {
                break
            }
        }
        return rest.isEmpty ? first : JinjaExpr(kind: .compare(first, rest), position: first.position)
    }

    private mutating func parseBinaryLevel(_ ops: Set<String>, next: (inout JinjaParser) throws -> JinjaExpr) throws -> JinjaExpr {
        var left = try next(&self)
        while case .op(let o) = current.kind, ops.contains(o), let op = JinjaBinaryOperator(rawValue: o) {
            let position = advance().position
            left = JinjaExpr(kind: .binary(op, left, try next(&self)), position: position)
        }
        return left
    }

    mutating func parseAdditive() throws -> JinjaExpr {
        try parseBinaryLevel(["+", "-"]) { try $0.parseConcat() }
    }

    mutating func parseConcat() throws -> JinjaExpr {
        try parseBinaryLevel(["~"]) { try $0.parseMultiplicative() }
    }

    mutating func parseMultiplicative() throws -> JinjaExpr {
        try parseBinaryLevel(["*", "/", "//", "%"]) { try $0.parsePower() }
    }

    mutating func parsePower() throws -> JinjaExpr {
        try parseBinaryLevel(["**"]) { try $0.parseUnary(withFilters: true) }
    }

    mutating func parseUnary(withFilters: Bool) throws -> JinjaExpr {
        try enter()
        defer { depth -= 1 }
        var expr: JinjaExpr
        if isOp("-") {
            let position = advance().position
            expr = JinjaExpr(kind: .negate(try parseUnary(withFilters: false)), position: position)
        } else if isOp("+") {
            let position = advance().position
            expr = JinjaExpr(kind: .plus(try parseUnary(withFilters: false)), position: position)
        } else {
            expr = try parsePrimary()
        }
        expr = try parsePostfix(expr)
        if withFilters { expr = try parseFiltersAndTests(expr) }
        return expr
    }

    mutating func parsePrimary() throws -> JinjaExpr {
        let token = advance()
        let position = token.position
        switch token.kind {
        case .name(let name):
            switch name {
            case "true", "True": return JinjaExpr(kind: .literal(.bool(true)), position: position)
            case "false", "False": return JinjaExpr(kind: .literal(.bool(false)), position: position)
            case "none", "None": return JinjaExpr(kind: .literal(.none), position: position)
            default: return JinjaExpr(kind: .name(name), position: position)
            }
        case .string(var text):
            while case .string(let more) = current.kind {   // "a" "b" concatenates
                text += more
                _ = advance()
            }
            return JinjaExpr(kind: .literal(.string(text)), position: position)
        case .integer(let i): return JinjaExpr(kind: .literal(.int(i)), position: position)
        case .float(let d): return JinjaExpr(kind: .literal(.float(d)), position: position)
        case .op("("):
            if skipOp(")") { return JinjaExpr(kind: .list([]), position: position) }
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
            return JinjaExpr(kind: .list(items), position: position)
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
            return JinjaExpr(kind: .dict(pairs), position: position)
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
                    expr = JinjaExpr(kind: .attribute(expr, name), position: position)
                case .integer(let i):
                    _ = advance()
                    expr = JinjaExpr(kind: .item(expr, JinjaExpr(kind: .literal(.int(i)), position: position)), position: position)
                default:
                    throw error("expected an attribute name after '.', found \(current.display)")
                }
            } else if isOp("[") {
                let position = advance().position
                expr = try parseSubscript(expr, at: position)
            } else if isOp("(") {
                let position = current.position
                expr = JinjaExpr(kind: .call(expr, try parseCallArguments()), position: position)
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
            if skipOp("]") { return JinjaExpr(kind: .item(base, start!), position: position) }
        }
        try expectOp(":")
        var stop: JinjaExpr? = nil, step: JinjaExpr? = nil
        if !isOp("]") && !isOp(":") { stop = try parseExpression() }
        if skipOp(":"), !isOp("]") { step = try parseExpression() }
        try expectOp("]")
        return JinjaExpr(kind: .slice(base, start: start, stop: stop, step: step), position: position)
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
                expr = JinjaExpr(kind: .filter(expr, name: call.name, call.arguments), position: call.position)
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
                expr = JinjaExpr(kind: .test(expr, name: name, arguments, negated: negated), position: position)
            } else if isOp("(") {
                let position = current.position
                expr = JinjaExpr(kind: .call(expr, try parseCallArguments()), position: position)
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
