/// Turns template source into tokens, applying Jinja2's whitespace rules the
/// way Hugging Face renders chat templates (trim_blocks=True,
/// lstrip_blocks=True, keep_trailing_newline=False), so `{%- -%}`, `{%+`,
/// `+%}` and the implicit trimming all behave exactly like jinja2's lexer.
struct JinjaLexer {
    private let chars: [Unicode.Scalar]
    private var lineStarts: [Int] = [0]
    private var tokens: [JinjaToken] = []
    private var index = 0

    static func tokenize(_ source: String) throws -> [JinjaToken] {
        var lexer = JinjaLexer(source: source)
        try lexer.run()
        return lexer.tokens
    }

    private init(source: String) {
        // jinja2 normalizes \r\n and \r to \n, then drops one trailing newline.
        var normalized: [Unicode.Scalar] = []
        normalized.reserveCapacity(source.unicodeScalars.count)
        var previousWasCR = false
        for scalar in source.unicodeScalars {
            if scalar == "\r" {
                normalized.append("\n")
                previousWasCR = true
                continue
            }
            if scalar == "\n" && previousWasCR {
                previousWasCR = false
                continue
            }
            previousWasCR = false
            normalized.append(scalar)
        }
        if normalized.last == "\n" { normalized.removeLast() }
        chars = normalized
        for (i, c) in chars.enumerated() where c == "\n" { lineStarts.append(i + 1) }
    }

    private func position(_ offset: Int) -> JinjaSourcePosition {
        // Binary search for the line containing `offset`.
        var low = 0, high = lineStarts.count - 1
        while low < high {
            let mid = (low + high + 1) / 2
            if lineStarts[mid] <= offset { low = mid } else { high = mid - 1 }
        }
        return JinjaSourcePosition(line: low + 1, column: offset - lineStarts[low] + 1)
    }

    private func at(_ i: Int) -> Unicode.Scalar? { i < chars.count ? chars[i] : nil }

    private func matches(_ literal: String, at i: Int) -> Bool {
        var j = i
        for s in literal.unicodeScalars {
            guard at(j) == s else { return false }
            j += 1
        }
        return true
    }

    private mutating func emit(_ kind: JinjaTokenKind, at offset: Int) {
        tokens.append(JinjaToken(kind: kind, position: position(offset)))
    }

    private mutating func emitText(_ start: Int, _ end: Int) {
        if end > start { emit(.text(String(String.UnicodeScalarView(chars[start..<end]))), at: start) }
    }

    private func skipWhitespace(from i: Int) -> Int {
        var j = i
        while let c = at(j), isPythonWhitespace(c) { j += 1 }
        return j
    }

    /// Text before a tag loses trailing whitespace for `{%-`, or (lstrip_blocks)
    /// the indentation of a line holding only the block/comment tag.
    private func textEnd(start: Int, tagStart: Int, sign: Unicode.Scalar?, isVariable: Bool) -> Int {
        if sign == "-" {
            var end = tagStart
            while end > start, isPythonWhitespace(chars[end - 1]) { end -= 1 }
            return end
        }
        if sign == "+" || isVariable { return tagStart }
        var lineStart = tagStart
        while lineStart > start, chars[lineStart - 1] != "\n" { lineStart -= 1 }
        let atLineStart = lineStart > start || start == 0 || chars[start - 1] == "\n"
        guard atLineStart else { return tagStart }
        for i in lineStart..<tagStart where !isPythonWhitespace(chars[i]) { return tagStart }
        return lineStart
    }

    /// After `%}` / `#}`: `-` eats all whitespace, `+` nothing, otherwise one newline (trim_blocks).
    private func afterBlockEnd(_ i: Int, sign: Unicode.Scalar?) -> Int {
        if sign == "-" { return skipWhitespace(from: i) }
        if sign == "+" { return i }
        return at(i) == "\n" ? i + 1 : i
    }

    private mutating func run() throws {
        var textStart = 0
        var i = 0
        while i < chars.count {
            guard chars[i] == "{", let kind = at(i + 1), kind == "{" || kind == "%" || kind == "#" else {
                i += 1
                continue
            }
            let tagStart = i
            var sign = at(i + 2)
            if sign != "-" && sign != "+" { sign = nil }
            var bodyStart = tagStart + 2 + (sign == nil ? 0 : 1)

            if kind == "%", let rawEnd = rawBlockBodyStart(from: bodyStart) {
                emitText(textStart, textEnd(start: textStart, tagStart: tagStart, sign: sign, isVariable: false))
                textStart = try lexRaw(contentStart: rawEnd, openedAt: tagStart)
                i = textStart
                continue
            }

            emitText(textStart, textEnd(start: textStart, tagStart: tagStart, sign: sign, isVariable: kind == "{"))
            switch kind {
            case "#":
                var j = bodyStart
                while j < chars.count, !matches("#}", at: j) { j += 1 }
                guard j < chars.count else { throw jinjaSyntaxError("missing end of comment tag '#}'", at: position(tagStart)) }
                var endSign: Unicode.Scalar? = nil
                if j > bodyStart, chars[j - 1] == "-" || chars[j - 1] == "+" { endSign = chars[j - 1] }
                i = afterBlockEnd(j + 2, sign: endSign)
            default:
                emit(kind == "{" ? .variableBegin : .blockBegin, at: tagStart)
                bodyStart = try lexTag(from: bodyStart, isVariable: kind == "{", openedAt: tagStart)
                i = bodyStart
            }
            textStart = i
        }
        emitText(textStart, chars.count)
        emit(.end, at: chars.count)
    }

    /// `{% raw %}` (any sign/spacing): returns where the raw content begins, or nil.
    private func rawBlockBodyStart(from i: Int) -> Int? {
        var j = skipWhitespace(from: i)
        guard matches("raw", at: j) else { return nil }
        j = skipWhitespace(from: j + 3)
        if matches("-%}", at: j) { return skipWhitespace(from: j + 3) }
        if matches("%}", at: j) { return j + 2 }   // jinja2 applies no trim_blocks here
        return nil
    }

    /// Emits the raw content verbatim up to `{% endraw %}`; returns the offset after it.
    private mutating func lexRaw(contentStart: Int, openedAt: Int) throws -> Int {
        var j = contentStart
        while j < chars.count {
            if matches("{%", at: j) {
                var k = j + 2
                var sign: Unicode.Scalar? = nil
                if let s = at(k), s == "-" || s == "+" { sign = s; k += 1 }
                k = skipWhitespace(from: k)
                if matches("endraw", at: k) {
                    k = skipWhitespace(from: k + 6)
                    var endSign: Unicode.Scalar? = nil
                    if let s = at(k), s == "-" || s == "+" { endSign = s; k += 1 }
                    if matches("%}", at: k) {
                        emitText(contentStart, textEnd(start: contentStart, tagStart: j, sign: sign, isVariable: false))
                        return afterBlockEnd(k + 2, sign: endSign)
                    }
                }
            }
            j += 1
        }
        throw jinjaSyntaxError("missing end of raw directive", at: position(openedAt))
    }

    /// Lexes the inside of `{{ }}` / `{% %}`; returns the offset after the closing tag.
    private mutating func lexTag(from start: Int, isVariable: Bool, openedAt: Int) throws -> Int {
        var i = start
        var brackets: [Unicode.Scalar] = []
        let close: String = isVariable ? "}}" : "%}"
        while true {
            i = skipWhitespace(from: i)
            guard i < chars.count else {
                throw jinjaSyntaxError("unclosed \(isVariable ? "'{{'" : "'{%'") tag", at: position(openedAt))
            }
            if brackets.isEmpty {
                if matches("-" + close, at: i) {
                    emit(isVariable ? .variableEnd : .blockEnd, at: i)
                    return isVariable ? skipWhitespace(from: i + 3) : afterBlockEnd(i + 3, sign: "-")
                }
                if !isVariable && matches("+%}", at: i) {
                    emit(.blockEnd, at: i)
                    return i + 3
                }
                if matches(close, at: i) {
                    emit(isVariable ? .variableEnd : .blockEnd, at: i)
                    return isVariable ? i + 2 : afterBlockEnd(i + 2, sign: nil)
                }
            }
            let c = chars[i]
            if c == "_" || isASCIILetter(c) {
                var j = i + 1
                while let d = at(j), d == "_" || isASCIILetter(d) || isASCIIDigit(d) { j += 1 }
                emit(.name(String(String.UnicodeScalarView(chars[i..<j]))), at: i)
                i = j
            } else if isASCIIDigit(c) {
                i = try lexNumber(at: i)
            } else if c == "'" || c == "\"" {
                i = try lexString(at: i)
            } else {
                i = try lexOperator(at: i, brackets: &brackets)
            }
        }
    }

    private mutating func lexNumber(at start: Int) throws -> Int {
        // A number right after '.' is an attribute index (`foo.0`), never a float.
        let afterDot = start > 0 && chars[start - 1] == "."
        var j = start
        func digits(_ j: inout Int) {
            while let d = at(j), isASCIIDigit(d) || (d == "_" && at(j + 1).map(isASCIIDigit) == true) { j += 1 }
        }
        digits(&j)
        var isFloat = false
        if !afterDot, at(j) == ".", let d = at(j + 1), isASCIIDigit(d) {
            isFloat = true
            j += 1
            digits(&j)
        }
        if !afterDot, let e = at(j), e == "e" || e == "E" {
            var k = j + 1
            if let s = at(k), s == "+" || s == "-" { k += 1 }
            if let d = at(k), isASCIIDigit(d) {
                isFloat = true
                j = k
                digits(&j)
            }
        }
        let text = String(String.UnicodeScalarView(chars[start..<j].filter { $0 != "_" }))
        if isFloat {
            guard let value = Double(text) else { throw jinjaSyntaxError("invalid number '\(text)'", at: position(start)) }
            emit(.float(value), at: start)
        } else {
            guard let value = Int(text) else { throw jinjaSyntaxError("integer literal '\(text)' is too large", at: position(start)) }
            emit(.integer(value), at: start)
        }
        return j
    }

    private mutating func lexString(at start: Int) throws -> Int {
        let quote = chars[start]
        var j = start + 1
        while j < chars.count, chars[j] != quote {
            j += chars[j] == "\\" ? 2 : 1
        }
        guard j < chars.count else { throw jinjaSyntaxError("unterminated string literal", at: position(start)) }
        guard let value = decodePythonEscapes(chars[(start + 1)..<j]) else {
            throw jinjaSyntaxError("invalid escape sequence in string literal", at: position(start))
        }
        emit(.string(value), at: start)
        return j + 1
    }

    private static let operators = ["//", "**", "==", "!=", "<=", ">=",
                                    "+", "-", "*", "/", "%", "~", "<", ">", "=", ".", ",", ":", "|", ";",
                                    "(", ")", "[", "]", "{", "}"]

    private mutating func lexOperator(at i: Int, brackets: inout [Unicode.Scalar]) throws -> Int {
        guard let op = Self.operators.first(where: { matches($0, at: i) }) else {
            throw jinjaSyntaxError("unexpected character '\(chars[i].escaped(asASCII: false))'", at: position(i))
        }
        switch op {
        case "(": brackets.append(")")
        case "[": brackets.append("]")
        case "{": brackets.append("}")
        case ")", "]", "}":
            guard let expected = brackets.popLast(), String(expected) == op else {
                throw jinjaSyntaxError("unexpected '\(op)'", at: position(i))
            }
        default: break
        }
        emit(.op(op), at: i)
        return i + op.unicodeScalars.count
    }
}

private func isASCIILetter(_ c: Unicode.Scalar) -> Bool { (c >= "a" && c <= "z") || (c >= "A" && c <= "Z") }
private func isASCIIDigit(_ c: Unicode.Scalar) -> Bool { c >= "0" && c <= "9" }
