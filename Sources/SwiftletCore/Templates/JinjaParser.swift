/// Recursive-descent parser for the statement level of Jinja2 (tags and
/// their bodies). Expressions are in JinjaExpressionParser.swift.
struct JinjaParser {
    var tokens: [JinjaToken]
    var index = 0
    var loopDepth = 0
    /// Statement bodies and parenthesized expressions open now: bounded, so
    /// the parser's own recursion stays shallow (JinjaLimits.maxParseNesting).
    var depth = 0

    static func parse(_ source: String) throws -> [JinjaNode] {
        var parser = JinjaParser(tokens: try JinjaLexer.tokenize(source))
        let (nodes, _) = try parser.parseBody(until: [])
        return nodes
    }

    // MARK: token helpers

    var current: JinjaToken { tokens[index] }
    func peek(_ offset: Int = 1) -> JinjaToken { tokens[min(index + offset, tokens.count - 1)] }

    mutating func advance() -> JinjaToken {
        let token = tokens[index]
        if index < tokens.count - 1 { index += 1 }
        return token
    }

    func isName(_ name: String, _ token: JinjaToken? = nil) -> Bool {
        if case .name(let n) = (token ?? current).kind { return n == name }
        return false
    }

    func isOp(_ op: String) -> Bool {
        if case .op(let o) = current.kind { return o == op }
        return false
    }

    mutating func skipName(_ name: String) -> Bool {
        guard isName(name) else { return false }
        _ = advance()
        return true
    }

    mutating func skipOp(_ op: String) -> Bool {
        guard isOp(op) else { return false }
        _ = advance()
        return true
    }

    func error(_ message: String, _ token: JinjaToken? = nil) -> SwiftletError {
        jinjaSyntaxError(message, at: (token ?? current).position)
    }

    mutating func expectOp(_ op: String) throws {
        guard skipOp(op) else { throw error("expected '\(op)', found \(current.display)") }
    }

    mutating func expectName() throws -> String {
        guard case .name(let n) = current.kind else { throw error("expected a name, found \(current.display)") }
        _ = advance()
        return n
    }

    mutating func expectBlockEnd() throws {
        guard case .blockEnd = current.kind else { throw error("expected '%}', found \(current.display)") }
        _ = advance()
    }

    mutating func enter() throws {
        depth += 1
        if depth > JinjaLimits.maxParseNesting {
            throw error("template nested too deeply (more than \(JinjaLimits.maxParseNesting) levels)")
        }
    }

    // MARK: statements

    /// Parses nodes until a `{% name %}` with name in `endTags`; leaves the
    /// parser on that name and returns it ("" at the end of the template).
    mutating func parseBody(until endTags: Set<String>) throws -> ([JinjaNode], String) {
        try enter()
        defer { depth -= 1 }
        var nodes: [JinjaNode] = []
        while true {
            let token = current
            switch token.kind {
            case .text(let text):
                _ = advance()
                nodes.append(.text(text))
            case .variableBegin:
                _ = advance()
                let expr = try parseTuple(allowCondition: true)
                guard case .variableEnd = current.kind else { throw error("expected '}}', found \(current.display)") }
                _ = advance()
                nodes.append(.output(expr))
            case .blockBegin:
                _ = advance()
                guard case .name(let tag) = current.kind else { throw error("expected a tag name, found \(current.display)") }
                if endTags.contains(tag) { return (nodes, tag) }
                nodes += try parseStatement(tag, endTags: endTags)
            case .end:
                if endTags.isEmpty { return (nodes, "") }
                let expected = endTags.sorted().map { "'\($0)'" }.joined(separator: " or ")
                throw error("unexpected end of template, expected \(expected)")
            default:
                throw error("unexpected \(token.display)")
            }
        }
    }

    mutating func parseStatement(_ tag: String, endTags: Set<String>) throws -> [JinjaNode] {
        let tagToken = advance()
        switch tag {
        case "if": return [try parseIf()]
        case "for": return [try parseFor(at: tagToken.position)]
        case "set": return [try parseSet(at: tagToken.position)]
        case "macro": return [try parseMacro()]
        case "break", "continue":
            guard loopDepth > 0 else { throw error("'\(tag)' outside of a loop", tagToken) }
            try expectBlockEnd()
            return [tag == "break" ? .loopBreak(tagToken.position) : .loopContinue(tagToken.position)]
        case "generation":
            // Hugging Face's assistant-mask marker: renders its body unchanged.
            try expectBlockEnd()
            let (body, _) = try parseBody(until: ["endgeneration"])
            _ = advance()
            try expectBlockEnd()
            return body
        default:
            var message = "unknown tag '\(tag)'"
            if !endTags.isEmpty {
                message += " (expected " + endTags.sorted().map { "'\($0)'" }.joined(separator: " or ") + ")"
            }
            throw error(message, tagToken)
        }
    }

    mutating func parseIf() throws -> JinjaNode {
        var branches: [(condition: JinjaExpr, body: [JinjaNode])] = []
        var otherwise: [JinjaNode] = []
        while true {
            let condition = try parseTuple(allowCondition: false)
            try expectBlockEnd()
            let (body, end) = try parseBody(until: ["elif", "else", "endif"])
            _ = advance()
            branches.append((condition, body))
            if end == "elif" { continue }
            if end == "else" {
                try expectBlockEnd()
                (otherwise, _) = try parseBody(until: ["endif"])
                _ = advance()
            }
            try expectBlockEnd()
            return .conditional(branches: branches, otherwise: otherwise)
        }
    }

    mutating func parseFor(at position: JinjaSourcePosition) throws -> JinjaNode {
        let target = try parseAssignTarget(allowNamespace: false)
        guard skipName("in") else { throw error("expected 'in', found \(current.display)") }
        let iterable = try parseTuple(allowCondition: false, endNames: ["recursive", "if"])
        var filter: JinjaExpr? = nil
        if skipName("if") { filter = try parseExpression() }
        if isName("recursive") { throw error("recursive loops are not supported") }
        try expectBlockEnd()
        loopDepth += 1
        let (body, end) = try parseBody(until: ["endfor", "else"])
        loopDepth -= 1
        _ = advance()
        var otherwise: [JinjaNode] = []
        if end == "else" {
            try expectBlockEnd()
            (otherwise, _) = try parseBody(until: ["endfor"])
            _ = advance()
        }
        try expectBlockEnd()
        return .forLoop(JinjaForLoop(target: target, iterable: iterable, filter: filter,
                                     body: body, otherwise: otherwise, position: position))
    }

    mutating func parseSet(at position: JinjaSourcePosition) throws -> JinjaNode {
        let target = try parseAssignTarget(allowNamespace: true)
        if skipOp("=") {
            let value = try parseTuple(allowCondition: true)
            try expectBlockEnd()
            return .set(target, value, position)
        }
        // Block form: {% set x | filter %}...{% endset %}
        var filters: [JinjaFilterCall] = []
        while isOp("|") {
            _ = advance()
            filters.append(try parseFilterCall())
        }
        try expectBlockEnd()
        let (body, _) = try parseBody(until: ["endset"])
        _ = advance()
        try expectBlockEnd()
        return .setBlock(target, body: body, filters: filters, position)
    }

    mutating func parseMacro() throws -> JinjaNode {
        let name = try expectName()
        try expectOp("(")
        var parameters: [(name: String, defaultValue: JinjaExpr?)] = []
        while !skipOp(")") {
            if !parameters.isEmpty { try expectOp(",") }
            if skipOp(")") { break }
            let parameter = try expectName()
            let defaultValue = skipOp("=") ? try parseExpression() : nil
            if defaultValue == nil, parameters.last?.defaultValue != nil {
                throw error("non-default macro argument '\(parameter)' follows a default argument")
            }
            parameters.append((parameter, defaultValue))
        }
        try expectBlockEnd()
        let savedLoopDepth = loopDepth
        loopDepth = 0
        let (body, _) = try parseBody(until: ["endmacro"])
        loopDepth = savedLoopDepth
        _ = advance()
        try expectBlockEnd()
        return .macro(name: name, parameters: parameters, body: body)
    }

    /// `x`, `a, b`, `(a, b)`, or with `allowNamespace` `ns.attr`.
    mutating func parseAssignTarget(allowNamespace: Bool) throws -> JinjaAssignTarget {
        if allowNamespace, case .name(let object) = current.kind, case .op(".") = peek().kind {
            _ = advance()
            _ = advance()
            return .attribute(object: object, attribute: try expectName())
        }
        let parenthesized = skipOp("(")
        var names = [try expectName()]
        var isTuple = false
        while skipOp(",") {
            isTuple = true
            guard case .name = current.kind else { break }
            names.append(try expectName())
        }
        if parenthesized { try expectOp(")") }
        for name in names where ["true", "false", "none", "True", "False", "None"].contains(name) {
            throw error("cannot assign to '\(name)'")
        }
        return isTuple ? .names(names) : .name(names[0])
    }
}
