/// The GBNF rules a JSON Schema compiles to, collected one by one with the
/// limits that keep a hostile schema's grammar small.
///
/// Two costs are counted: the grammar's text (every rule body) and its
/// repetitions. The GBNF compiler expands `x{m,n}` into about n copies of
/// `x`, so a repetition costs its larger count: `maxItems: 1000000` is
/// refused here rather than expanded there. Repeated items are always a
/// single element (a rule name, a class, a literal), never a group, so
/// nested repetitions add their costs instead of multiplying them.
///
/// Rules with the same body share one name (llama.cpp's converter does the
/// same): a schema that repeats a shape gets one rule for it, and a union
/// whose branches compile alike collapses.
struct JSONSchemaRuleSet {
    /// The names of the primitive rules, reserved up front so that a rule
    /// named after a property never takes one.
    private static let primitiveNames: Set<String> = Set(JSONSchemaPrimitive.allCases.map(\.ruleName)).union(["root"])

    private(set) var rules: [(name: String, body: String)] = []
    private var takenNames: Set<String> = JSONSchemaRuleSet.primitiveNames
    private var nameOfBody: [String: String] = [:]
    private var definedPrimitives: Set<JSONSchemaPrimitive> = []
    private var textBytes = 0
    private var repetitionCost = 0

    /// Adds `body` as a rule named like `name` and returns its name, or the
    /// name of an existing rule with the same body.
    mutating func add(_ name: String, _ body: String) throws(SwiftletError) -> String {
        if let existing = nameOfBody[body] { return existing }
        let unique = reserve(name)
        try define(unique, body)
        return unique
    }

    /// A fresh name like `name` for a rule defined later (a `$ref` target,
    /// which may be referenced before its body is known).
    mutating func reserve(_ name: String) -> String {
        let base = Self.ruleName(name)
        var candidate = base
        var counter = 2
        while takenNames.contains(candidate) {
            candidate = "\(base)-\(counter)"
            counter += 1
        }
        takenNames.insert(candidate)
        return candidate
    }

    /// Gives a reserved name its body.
    mutating func define(_ name: String, _ body: String) throws(SwiftletError) {
        textBytes += name.utf8.count + body.utf8.count + 6
        guard textBytes <= JSONSchemaGrammar.maximumGrammarBytes else {
            throw .invalidArgument("the schema's grammar is larger than \(JSONSchemaGrammar.maximumGrammarBytes) bytes")
        }
        rules.append((name, body))
        if nameOfBody[body] == nil { nameOfBody[body] = name }
    }

    /// The name of a primitive rule, defining it (and the rules it uses) on first use.
    mutating func primitive(_ primitive: JSONSchemaPrimitive) -> String {
        if definedPrimitives.insert(primitive).inserted {
            rules.append((primitive.ruleName, primitive.body))
            textBytes += primitive.body.utf8.count
            if nameOfBody[primitive.body] == nil { nameOfBody[primitive.body] = primitive.ruleName }
            for dependency in primitive.dependencies { _ = self.primitive(dependency) }
        }
        return primitive.ruleName
    }

    /// `item` repeated `min` to `max` times (nil: no upper bound), as GBNF;
    /// `item` must be a single element. "" when it may occur only 0 times.
    mutating func repetition(_ item: String, min: Int, max: Int?, place: String) throws(SwiftletError) -> String {
        let largest = Swift.max(min, max ?? min)
        guard largest <= JSONSchemaGrammar.maximumRepetitionCount else {
            throw .invalidArgument("\(place): a repetition count of \(largest) is more than the \(JSONSchemaGrammar.maximumRepetitionCount) a grammar may hold")
        }
        repetitionCost += largest + 1
        guard repetitionCost <= JSONSchemaGrammar.maximumRepetitionTotal else {
            throw .invalidArgument("\(place): the schema's repetitions add up to more than \(JSONSchemaGrammar.maximumRepetitionTotal) items")
        }
        switch (min, max) {
        case (0, nil): return item + "*"
        case (1, nil): return item + "+"
        case (_, nil): return "\(item){\(min),}"
        case (0, 0): return ""
        case (0, 1): return item + "?"
        case (1, 1): return item
        case (let m, let n?) where m == n: return "\(item){\(m)}"
        case (let m, let n?): return "\(item){\(m),\(n)}"
        }
    }

    /// The grammar's text: `root ::= <root>` first, then every rule in the order made.
    func text(root: String) -> String {
        var out = "root ::= \(root)\n"
        for rule in rules { out += "\(rule.name) ::= \(rule.body)\n" }
        return out
    }

    /// A rule name from any text: GBNF names are [a-zA-Z0-9-]+; other
    /// characters become "-", and long names are cut (they come from
    /// property paths, and nesting would make them grow without end).
    static func ruleName(_ text: String) -> String {
        var name = ""
        for scalar in text.unicodeScalars {
            let keep = scalar.isASCII && (("a"..."z").contains(scalar) || ("A"..."Z").contains(scalar) || ("0"..."9").contains(scalar))
            if keep {
                name.unicodeScalars.append(scalar)
            } else if !name.hasSuffix("-") && !name.isEmpty {
                name += "-"
            }
            if name.utf8.count >= 40 { break }
        }
        while name.hasSuffix("-") { name.removeLast() }
        return name.isEmpty ? "rule" : name
    }
}

/// How GBNF spells literals and character classes. Everything the converter
/// writes goes through here, using only the escapes every GBNF parser knows:
/// \" \\ \n \r \t in literals, \xHH below 0x80 and \uHHHH / \UHHHHHHHH above.
enum GBNFSpelling {
    /// A quoted literal for `text` (UTF-8 characters above ASCII are written raw).
    static func literal(_ text: String) -> String {
        var out = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where scalar.value < 0x20 || scalar.value == 0x7F: out += hexEscape(scalar.value)
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }

    /// A character class matching the code points of `ranges` (sorted, disjoint,
    /// not empty); `negated` writes [^...].
    static func characterClass(_ ranges: [ClosedRange<UInt32>], negated: Bool = false) -> String {
        var out = negated ? "[^" : "["
        for range in ranges {
            out += classCharacter(range.lowerBound)
            if range.upperBound != range.lowerBound {
                if range.upperBound > range.lowerBound + 1 { out += "-" }
                out += classCharacter(range.upperBound)
            }
        }
        return out + "]"
    }

    /// One code point inside a class: letters and digits as they are, the rest escaped.
    static func classCharacter(_ value: UInt32) -> String {
        if let scalar = Unicode.Scalar(value), scalar.isASCII,
           ("a"..."z").contains(scalar) || ("A"..."Z").contains(scalar) || ("0"..."9").contains(scalar) {
            return String(Character(scalar))
        }
        return hexEscape(value)
    }

    static func hexEscape(_ value: UInt32) -> String {
        let digits = String(value, radix: 16, uppercase: true)
        if value < 0x80 { return "\\x" + String(repeating: "0", count: 2 - digits.count) + digits }
        if value <= 0xFFFF { return "\\u" + String(repeating: "0", count: 4 - digits.count) + digits }
        return "\\U" + String(repeating: "0", count: 8 - digits.count) + digits
    }

    /// `alternatives` as one GBNF element: alone if there is one, else grouped.
    static func group(_ alternatives: [String]) -> String {
        alternatives.count == 1 ? alternatives[0] : "(" + alternatives.joined(separator: " | ") + ")"
    }
}
