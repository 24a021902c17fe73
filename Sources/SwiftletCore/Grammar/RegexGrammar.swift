/// A JSON Schema `pattern` as GBNF for the JSON string content it matches.
///
/// The subset: the pattern must be anchored, `^...$` (JSON Schema patterns
/// are unanchored searches; a grammar for "contains a match" would let the
/// model write anything around it, so an unanchored pattern is refused
/// rather than half-honoured). Inside: literal characters, escapes (\. \\
/// \n \t \r \f \v \0 \xHH \uHHHH and any escaped punctuation), `.`, classes
/// `[...]` and `[^...]` with ranges, \d \w \s and their negations, groups
/// `(...)`, `(?:...)` and `(?<name>...)`, `|`, and `* + ? {m} {m,} {m,n}`
/// (lazy forms too: they match the same strings). Anything else
/// (lookaround, backreferences, \b, anchors inside, Unicode properties,
/// flags) is INVALID_ARGUMENT naming it.
///
/// Patterns are written for ECMA 262 but checked by validators in other
/// engines (Python's `re` in the `jsonschema` package), which agree on
/// ASCII but not beyond it: for Python, \d also matches other scripts'
/// digits and \W does not match "é". So \d \w \s stand for their ASCII
/// members, and every class that means "not a digit or word character"
/// (\D \W, and a negated class holding \d \w) for printable ASCII
/// characters only; \S (and [^\s...]) leaves out what either engine counts
/// as white space. The strings generated then match in every engine. `.` is
/// any character but the line terminators.
struct RegexGrammar {
    /// Deepest nesting of groups.
    static let maximumGroupDepth = 32

    /// The GBNF (a sequence of elements) for the content of the JSON strings
    /// that `pattern` matches; helper rules are added to `rules` named after `name`.
    static func content(of pattern: String, place: String, name: String,
                        rules: inout JSONSchemaRuleSet) throws(SwiftletError) -> String {
        var parser = RegexGrammar(pattern: pattern, place: place)
        let node = try parser.parsePattern()
        var renderer = RegexRenderer(place: place, name: name)
        return try renderer.render(node, rules: &rules).text
    }

    private let scalars: [UInt32]
    private let place: String
    private var position = 0

    private init(pattern: String, place: String) {
        scalars = pattern.unicodeScalars.map(\.value)
        self.place = place
    }

    private func failure(_ message: String) -> SwiftletError {
        .invalidArgument("\(place): keyword \"pattern\": \(message) (at character \(position))")
    }

    private var peek: UInt32? { position < scalars.count ? scalars[position] : nil }

    private func peek(is character: Unicode.Scalar) -> Bool { peek == character.value }

    private mutating func take(_ character: Unicode.Scalar) -> Bool {
        guard peek(is: character) else { return false }
        position += 1
        return true
    }

    private mutating func parsePattern() throws(SwiftletError) -> RegexNode {
        guard take("^") else { throw failure("only patterns anchored with ^ at the start are supported") }
        guard let last = scalars.last, last == code("$"), endsWithUnescapedDollar() else {
            throw failure("only patterns anchored with $ at the end are supported")
        }
        let end = scalars.count - 1
        let node = try parseAlternation(depth: 0, end: end)
        guard position == end else { throw failure("unbalanced )") }
        if case .alternation = node {
            throw failure("^ and $ bind to the first and last branch of a top-level |; group the branches: ^(a|b)$")
        }
        return node
    }

    private func endsWithUnescapedDollar() -> Bool {
        var backslashes = 0
        var index = scalars.count - 2
        while index >= 0 && scalars[index] == code("\\") { backslashes += 1; index -= 1 }
        return backslashes % 2 == 0 && scalars.count >= 2
    }

    private mutating func parseAlternation(depth: Int, end: Int) throws(SwiftletError) -> RegexNode {
        var branches = [try parseSequence(depth: depth, end: end)]
        while position < end && take("|") {
            branches.append(try parseSequence(depth: depth, end: end))
        }
        return branches.count == 1 ? branches[0] : .alternation(branches)
    }

    private mutating func parseSequence(depth: Int, end: Int) throws(SwiftletError) -> RegexNode {
        var items: [RegexNode] = []
        while position < end, let next = peek, next != code("|"), next != code(")") {
            let atom = try parseAtom(depth: depth, end: end)
            items.append(try parseQuantifier(atom, end: end))
        }
        return items.count == 1 ? items[0] : .sequence(items)
    }

    private mutating func parseAtom(depth: Int, end: Int) throws(SwiftletError) -> RegexNode {
        let character = scalars[position]
        position += 1
        switch scalarOf(character) {
        case "(":
            guard depth < Self.maximumGroupDepth else { throw failure("groups nested deeper than \(Self.maximumGroupDepth)") }
            if take("?") {
                if take(":") {
                } else if peek(is: "<"), position + 1 < end, scalars[position + 1] != code("="),
                          scalars[position + 1] != code("!") {
                    while position < end && !take(">") { position += 1 }
                } else {
                    throw failure("lookaround and inline flags are not supported")
                }
            }
            let inner = try parseAlternation(depth: depth + 1, end: end)
            guard position < end, take(")") else { throw failure("missing )") }
            return inner
        case "[":
            return .characters(try parseClass(end: end))
        case ".":
            return .characters(ScalarSet.all.subtracting(
                ScalarSet(ranges: [0x0A...0x0A, 0x0D...0x0D, 0x2028...0x2029])))
        case "\\":
            switch try parseEscape(inClass: false, end: end) {
            case .character(let value): return .characters(ScalarSet(value))
            case .shorthand(let set): return .characters(set)
            }
        case "^", "$":
            throw failure("anchors inside the pattern are not supported")
        case "*", "+", "?":
            throw failure("nothing to repeat")
        case "{" where quantifierFollows(from: position - 1, end: end):
            throw failure("nothing to repeat")
        default:
            return .characters(ScalarSet(character))
        }
    }

    /// Whether `{` at `start` begins {m}, {m,} or {m,n}.
    private func quantifierFollows(from start: Int, end: Int) -> Bool {
        var index = start + 1
        var sawDigit = false
        while index < end, (0x30...0x39).contains(scalars[index]) { index += 1; sawDigit = true }
        guard sawDigit, index < end else { return false }
        if scalars[index] == code("}") { return true }
        guard scalars[index] == code(",") else { return false }
        index += 1
        while index < end, (0x30...0x39).contains(scalars[index]) { index += 1 }
        return index < end && scalars[index] == code("}")
    }

    private mutating func parseQuantifier(_ atom: RegexNode, end: Int) throws(SwiftletError) -> RegexNode {
        guard position < end, let next = peek else { return atom }
        let min: Int
        let max: Int?
        switch scalarOf(next) {
        case "*": position += 1; (min, max) = (0, nil)
        case "+": position += 1; (min, max) = (1, nil)
        case "?": position += 1; (min, max) = (0, 1)
        case "{" where quantifierFollows(from: position, end: end):
            position += 1
            let low = try parseCount()
            var high: Int? = low
            if take(",") { high = peek(is: "}") ? nil : try parseCount() }
            position += 1  // the "}"
            if let high, high < low { throw failure("{\(low),\(high)}: the counts are out of order") }
            (min, max) = (low, high)
        default:
            return atom
        }
        _ = position < end && take("?")  // lazy: the same strings
        if max == nil && atom.matchesEmpty {
            // (a?)* would loop in the matcher without consuming anything.
            throw failure("an unbounded repetition of something that can match the empty string")
        }
        if position < end, let after = peek,
           [code("*"), code("+"), code("?")].contains(after)
            || (after == code("{") && quantifierFollows(from: position, end: end)) {
            throw failure("nothing to repeat")
        }
        return .repetition(atom, min: min, max: max)
    }

    private mutating func parseCount() throws(SwiftletError) -> Int {
        var value = 0
        while let digit = peek, (0x30...0x39).contains(digit) {
            value = value * 10 + Int(digit - 0x30)
            guard value <= JSONSchemaGrammar.maximumRepetitionCount else {
                throw failure("a repetition count above \(JSONSchemaGrammar.maximumRepetitionCount)")
            }
            position += 1
        }
        return value
    }

    private enum Escape {
        case character(UInt32)
        case shorthand(ScalarSet)
    }

    /// After a backslash.
    private mutating func parseEscape(inClass: Bool, end: Int) throws(SwiftletError) -> Escape {
        guard position < end, let character = peek else { throw failure("a pattern may not end with \\") }
        position += 1
        let ascii = ScalarSet.printableASCII
        switch scalarOf(character) {
        case "d": return .shorthand(.digits)
        case "D": return .shorthand(ascii.subtracting(.digits))
        case "w": return .shorthand(.wordCharacters)
        case "W": return .shorthand(ascii.subtracting(.wordCharacters))
        case "s": return .shorthand(.whiteSpace)
        case "S": return .shorthand(ScalarSet.all.subtracting(.anyWhiteSpace))
        case "n": return .character(0x0A)
        case "t": return .character(0x09)
        case "r": return .character(0x0D)
        case "f": return .character(0x0C)
        case "v": return .character(0x0B)
        case "b" where inClass: return .character(0x08)
        case "0" where !(peek.map { (0x30...0x39).contains($0) } ?? false): return .character(0)
        case "x": return .character(try parseHex(digits: 2, end: end))
        case "u":
            let unit = try parseHex(digits: 4, end: end)
            if (0xD800...0xDBFF).contains(unit), position + 1 < end, scalars[position] == code("\\"),
               scalars[position + 1] == code("u") {
                position += 2
                let low = try parseHex(digits: 4, end: end)
                guard (0xDC00...0xDFFF).contains(low) else { throw failure("an unpaired surrogate escape") }
                return .character(0x10000 + ((unit - 0xD800) << 10) + (low - 0xDC00))
            }
            guard !(0xD800...0xDFFF).contains(unit) else { throw failure("an unpaired surrogate escape") }
            return .character(unit)
        case "b", "B": throw failure("word boundaries (\\b, \\B) are not supported")
        case "1"..."9", "k": throw failure("backreferences are not supported")
        case "p", "P": throw failure("Unicode property escapes are not supported")
        default:
            guard let scalar = Unicode.Scalar(character), !scalar.properties.isAlphabetic, !(0x30...0x39).contains(character)
            else { throw failure("the escape \\\(Character(Unicode.Scalar(character)!)) is not supported") }
            return .character(character)
        }
    }

    private mutating func parseHex(digits: Int, end: Int) throws(SwiftletError) -> UInt32 {
        var value: UInt32 = 0
        for _ in 0..<digits {
            guard position < end, let character = peek, let scalar = Unicode.Scalar(character), scalar.isASCII,
                  let digit = UInt32(String(Character(scalar)), radix: 16)
            else { throw failure("an incomplete hex escape") }
            value = value << 4 | digit
            position += 1
        }
        return value
    }

    /// After `[`.
    private mutating func parseClass(end: Int) throws(SwiftletError) -> ScalarSet {
        let negated = take("^")
        var set = ScalarSet.empty
        // What a negated class leaves out: its members, all white space for
        // \s, and everything beyond ASCII once it holds another shorthand.
        var excluded = ScalarSet.empty
        var asciiOnly = false
        while true {
            guard position < end, let character = peek else { throw failure("missing ]") }
            if character == code("]") { position += 1; break }
            let low = try parseClassAtom(end: end)
            guard case .character(let first) = low else {
                if case .shorthand(let shorthand) = low {
                    set = set.union(shorthand)
                    excluded = excluded.union(shorthand == .whiteSpace ? .anyWhiteSpace : shorthand)
                    asciiOnly = asciiOnly || shorthand != .whiteSpace
                }
                continue
            }
            if peek(is: "-"), position + 1 < end, scalars[position + 1] != code("]") {
                position += 1
                guard case .character(let last) = try parseClassAtom(end: end) else {
                    throw failure("a range may not end with a class shorthand")
                }
                guard first <= last else { throw failure("a range out of order") }
                set = set.union(ScalarSet(ranges: [first...last]))
            } else {
                set = set.union(ScalarSet(first))
            }
        }
        guard negated else { return set }
        let universe = asciiOnly ? ScalarSet.printableASCII : ScalarSet.all
        return universe.subtracting(set.union(excluded))
    }

    private mutating func parseClassAtom(end: Int) throws(SwiftletError) -> Escape {
        let character = scalars[position]
        position += 1
        if character == code("\\") { return try parseEscape(inClass: true, end: end) }
        if character == code("["), peek(is: ":") || peek(is: "=") || peek(is: ".") {
            throw failure("POSIX classes ([:alpha:]) are not supported")
        }
        return .character(character)
    }
}

private func code(_ scalar: Unicode.Scalar) -> UInt32 { scalar.value }

/// The scalar of a value taken from a String's unicodeScalars (always valid).
private func scalarOf(_ value: UInt32) -> Unicode.Scalar { Unicode.Scalar(value) ?? "\u{FFFD}" }

/// A parsed pattern.
indirect enum RegexNode {
    /// One character of the set.
    case characters(ScalarSet)
    case sequence([RegexNode])
    case alternation([RegexNode])
    case repetition(RegexNode, min: Int, max: Int?)

    var matchesEmpty: Bool {
        switch self {
        case .characters: return false
        case .sequence(let items): return items.allSatisfy(\.matchesEmpty)
        case .alternation(let branches): return branches.contains(where: \.matchesEmpty)
        case .repetition(let item, let min, _): return min == 0 || item.matchesEmpty
        }
    }
}

/// Writes a parsed pattern as GBNF. A repeated item that is not a single
/// element (a rule name, a class, a one-character literal) becomes a rule of
/// its own, so the GBNF compiler's expansion of {m,n} copies one name.
private struct RegexRenderer {
    let place: String
    let name: String
    var helperRules = 0

    struct Rendered {
        /// A sequence of GBNF elements ("" for the empty string).
        var text: String
        var isSingleElement: Bool
    }

    mutating func render(_ node: RegexNode, rules: inout JSONSchemaRuleSet) throws(SwiftletError) -> Rendered {
        switch node {
        case .characters(let set):
            if let single = set.single {
                let elements = JSONStringContent.literal(String(Character(Unicode.Scalar(single)!)))
                return Rendered(text: elements.joined(separator: " "), isSingleElement: elements.count == 1)
            }
            guard let element = JSONStringContent.element(for: set) else {
                throw .invalidArgument("\(place): keyword \"pattern\": a class that matches no character")
            }
            guard element.hasPrefix("(") else { return Rendered(text: element, isSingleElement: true) }
            // With its escapes, a class is long: one rule, shared by its every use.
            return Rendered(text: try rules.add("\(name)-char", element), isSingleElement: true)
        case .sequence(let items):
            var elements: [String] = []
            var literalRun = ""
            func flush() {
                if !literalRun.isEmpty {
                    elements += JSONStringContent.literal(literalRun)
                    literalRun = ""
                }
            }
            for item in items {
                if case .characters(let set) = item, let single = set.single {
                    literalRun.unicodeScalars.append(Unicode.Scalar(single)!)
                    continue
                }
                flush()
                let rendered = try render(item, rules: &rules)
                if !rendered.text.isEmpty { elements.append(rendered.text) }
            }
            flush()
            return Rendered(text: elements.joined(separator: " "), isSingleElement: false)
        case .alternation(let branches):
            var texts: [String] = []
            var mayBeEmpty = false
            for branch in branches {
                let rendered = try render(branch, rules: &rules)
                if rendered.text.isEmpty { mayBeEmpty = true } else if !texts.contains(rendered.text) { texts.append(rendered.text) }
            }
            if texts.isEmpty { return Rendered(text: "", isSingleElement: false) }
            let group = "(" + texts.joined(separator: " | ") + ")"
            return Rendered(text: group + (mayBeEmpty ? "?" : ""), isSingleElement: false)
        case .repetition(let item, let min, let max):
            var rendered = try render(item, rules: &rules)
            if rendered.text.isEmpty { return rendered }
            if !rendered.isSingleElement {
                helperRules += 1
                rendered.text = try rules.add("\(name)-\(helperRules)", rendered.text)
            }
            let text = try rules.repetition(rendered.text, min: min, max: max, place: "\(place): keyword \"pattern\"")
            return Rendered(text: text, isSingleElement: false)
        }
    }
}
