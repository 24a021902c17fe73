/// Where something sits in a template source, for error messages (1-based).
struct JinjaSourcePosition: Sendable, Equatable {
    var line: Int
    var column: Int

    var description: String { "line \(line), column \(column)" }
}

/// One lexical token of a template. Text between tags is already whitespace-
/// controlled by the lexer, so the parser never thinks about trimming.
enum JinjaTokenKind: Sendable, Equatable {
    case text(String)
    case variableBegin, variableEnd   // {{ }}
    case blockBegin, blockEnd         // {% %}
    case name(String)
    case string(String)               // escapes already decoded
    case integer(Int)
    case float(Double)
    case op(String)                   // operators and punctuation: + - ( ) [ ] ...
    case end
}

struct JinjaToken: Sendable {
    var kind: JinjaTokenKind
    var position: JinjaSourcePosition

    /// Human-readable form for "expected X, found Y" messages.
    var display: String {
        switch kind {
        case .text: return "template text"
        case .variableBegin: return "'{{'"
        case .variableEnd: return "'}}'"
        case .blockBegin: return "'{%'"
        case .blockEnd: return "'%}'"
        case .name(let n): return "'\(n)'"
        case .string: return "string literal"
        case .integer(let i): return "'\(i)'"
        case .float(let d): return "'\(d)'"
        case .op(let o): return "'\(o)'"
        case .end: return "end of template"
        }
    }
}

/// Errors carry the position so a model author can find the broken spot.
func jinjaSyntaxError(_ message: String, at position: JinjaSourcePosition) -> SwiftletError {
    SwiftletError(.template, "chat template syntax error at \(position.description): \(message)")
}
