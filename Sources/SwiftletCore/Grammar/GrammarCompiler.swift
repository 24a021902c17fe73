/// What GrammarCompiler makes: the fields of a Grammar.
struct GrammarProgram {
    var elements: [Int32]
    var alternatives: [[Int32]]
    var byteSets: [ByteSet]
    var root: Int32
    var ruleNames: [String]
}

/// Turns parsed GBNF rules into a byte-level program and checks it:
/// undefined rules, left recursion (which the matcher cannot expand) and a
/// root that can never finish are errors. Groups, character classes and
/// repetitions become generated rules named after the rule they appear in.
struct GrammarCompiler {
    /// Bounds the program a hostile grammar can make (4 bytes each).
    static let maximumElements = 4 << 20

    /// Per rule, its alternatives as symbols: a byte set index (≥ 0) or a
    /// rule reference (≤ -2), as in Grammar.elements.
    private var rules: [[[Int32]]] = []
    private var ruleNames: [String] = []
    private var namedRules: [String: Int32] = [:]
    private var byteSets: [ByteSet] = []
    private var byteSetIndex: [ByteSet: Int32] = [:]
    /// Character classes compiled so far, by their characters.
    private var classSymbols: [ScalarSet: Int32] = [:]
    private var symbolCount = 0

    mutating func compile(_ parsed: [GBNFRule], root: String) throws(SwiftletError) -> GrammarProgram {
        var places: [String: SourcePlace] = [:]
        for rule in parsed {
            if let first = places[rule.name] {
                throw SwiftletError.invalidArgument("grammar \(rule.place): rule \"\(rule.name)\" is defined twice (first at \(first))")
            }
            places[rule.name] = rule.place
            namedRules[rule.name] = newRule(named: rule.name)
        }
        for rule in parsed {
            let index = Int(namedRules[rule.name]!)
            rules[index] = try alternatives(rule.body, owner: rule.name)
        }
        guard let rootRule = namedRules[root] else {
            throw SwiftletError.invalidArgument("grammar: there is no rule \"\(root)\" to start from")
        }
        try GrammarChecks(rules: rules, names: ruleNames).check(root: rootRule, places: places)
        return flattened(root: rootRule)
    }

    private mutating func newRule(named name: String) -> Int32 {
        rules.append([])
        ruleNames.append(name)
        return Int32(rules.count - 1)
    }

    /// A generated rule with `alternatives`, as a one-symbol sequence.
    private mutating func generatedRule(_ alternatives: [[Int32]], owner: String) -> [Int32] {
        let rule = newRule(named: owner)
        rules[Int(rule)] = alternatives
        for symbols in alternatives { symbolCount += symbols.count + 1 }
        return [Grammar.element(rule: rule)]
    }

    private mutating func alternatives(_ expression: GBNFExpression, owner: String) throws(SwiftletError) -> [[Int32]] {
        if case .choice(let options) = expression {
            var result: [[Int32]] = []
            for option in options { result.append(try sequence(option, owner: owner)) }
            return result
        }
        return [try sequence(expression, owner: owner)]
    }

    private mutating func sequence(_ expression: GBNFExpression, owner: String) throws(SwiftletError) -> [Int32] {
        var symbols: [Int32]
        switch expression {
        case .sequence(let items):
            symbols = []
            for item in items { symbols += try sequence(item, owner: owner) }
        case .choice:
            symbols = generatedRule(try alternatives(expression, owner: owner), owner: owner)
        case .literal(let bytes):
            symbols = bytes.map { byteSetSymbol(ByteSet([$0...$0])) }
        case .characterClass(let ranges, let negated):
            let named = ScalarSet(ranges: ranges)
            symbols = [classSymbol(negated ? ScalarSet.all.subtracting(named) : named.intersection(.all), owner: owner)]
        case .anyCharacter:
            symbols = [classSymbol(.all, owner: owner)]
        case .rule(let name, let place):
            guard let rule = namedRules[name] else {
                throw SwiftletError.invalidArgument("grammar \(place): rule \"\(owner)\" refers to \"\(name)\", which is not defined")
            }
            symbols = [Grammar.element(rule: rule)]
        case .repeated(let item, let minimum, let maximum):
            symbols = try repetition(item, minimum: minimum, maximum: maximum, owner: owner)
        }
        symbolCount += symbols.count
        guard symbolCount <= Self.maximumElements else {
            throw SwiftletError.invalidArgument("grammar: rule \"\(owner)\" makes the grammar larger than \(Self.maximumElements) elements")
        }
        return symbols
    }

    /// x{m,n}: m copies of x, then n - m nested optional ones
    /// (x (x (x)?)?)? — unambiguous, unlike x? x? x? — or, with no maximum,
    /// a right-recursive loop, which the matcher runs in constant depth.
    private mutating func repetition(_ item: GBNFExpression, minimum: Int, maximum: Int?,
                                     owner: String) throws(SwiftletError) -> [Int32] {
        var unit = try sequence(item, owner: owner)
        if unit.count > 1 { unit = generatedRule([unit], owner: owner) }
        var symbols: [Int32] = []
        for _ in 0..<minimum { symbols += unit }
        if let maximum {
            guard maximum > minimum else { return symbols }
            var optional: [Int32] = []
            for _ in minimum..<maximum { optional = generatedRule([unit + optional, []], owner: owner) }
            return symbols + optional
        }
        let loop = generatedRule([], owner: owner)
        rules[Int(Grammar.rule(loop[0]))] = [unit + loop, []]
        return symbols + loop
    }

    private mutating func byteSetSymbol(_ set: ByteSet) -> Int32 {
        if let index = byteSetIndex[set] { return index }
        byteSets.append(set)
        byteSetIndex[set] = Int32(byteSets.count - 1)
        return Int32(byteSets.count - 1)
    }

    /// One character of `scalars`: a byte set when all are ASCII, else a
    /// generated rule with one alternative per byte pattern (all one-byte
    /// patterns merged into one set). An empty class is a rule with no
    /// alternatives, which matches nothing.
    private mutating func classSymbol(_ scalars: ScalarSet, owner: String) -> Int32 {
        if let symbol = classSymbols[scalars] { return symbol }
        var single: [ClosedRange<UInt8>] = []
        var longer: [[Int32]] = []
        for sequence in UTF8Ranges.byteSequences(scalars) {
            if sequence.count == 1 { single.append(sequence[0]) } else { longer.append(sequence.map { byteSetSymbol(ByteSet([$0])) }) }
        }
        let symbol: Int32
        if longer.isEmpty && !single.isEmpty {
            symbol = byteSetSymbol(ByteSet(single))
        } else {
            let alternatives = (single.isEmpty ? [] : [[byteSetSymbol(ByteSet(single))]]) + longer
            symbol = generatedRule(alternatives, owner: owner)[0]
        }
        classSymbols[scalars] = symbol
        return symbol
    }

    private func flattened(root: Int32) -> GrammarProgram {
        var elements: [Int32] = []
        elements.reserveCapacity(symbolCount + rules.count * 2)
        var starts: [[Int32]] = []
        for alternatives in rules {
            var ruleStarts: [Int32] = []
            for symbols in alternatives {
                ruleStarts.append(Int32(elements.count))
                elements += symbols
                elements.append(Grammar.end)
            }
            starts.append(ruleStarts)
        }
        return GrammarProgram(elements: elements, alternatives: starts, byteSets: byteSets, root: root, ruleNames: ruleNames)
    }
}
