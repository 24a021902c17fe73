/// GBNF as written: the rules of a grammar before compilation. The format is
/// llama.cpp's (`name ::= alternatives`), so its grammars work unchanged.
struct GBNFRule {
    var name: String
    var body: GBNFExpression
    var place: SourcePlace
}

indirect enum GBNFExpression {
    /// Items matched one after another (empty: the empty string).
    case sequence([GBNFExpression])
    /// One of the alternatives.
    case choice([GBNFExpression])
    /// The UTF-8 bytes of a "literal".
    case literal([UInt8])
    /// One character (Unicode scalar) in `ranges`, or not in them when negated.
    case characterClass(ranges: [ClosedRange<UInt32>], negated: Bool)
    /// `.`: any one character.
    case anyCharacter
    case rule(name: String, place: SourcePlace)
    /// `x*`, `x+`, `x?`, `x{m}`, `x{m,}`, `x{m,n}` (max nil: unbounded).
    case repeated(GBNFExpression, min: Int, max: Int?)
}

/// A line and column (both from 1, columns in bytes) in the grammar's text.
struct SourcePlace: CustomStringConvertible {
    var line: Int
    var column: Int
    var description: String { "\(line):\(column)" }
}
