/// A compiled grammar: immutable, shared by every sampler that follows it.
///
/// The program is llama.cpp's shape, on bytes instead of code points: each
/// rule is a list of alternatives, each alternative a run of elements in
/// `elements` closed by `Grammar.end`. An element ≥ 0 is the index of a byte
/// set (one byte of input), `Grammar.end` closes an alternative, and one ≤ -2
/// refers to rule -(element + 2). Parse state lives in `GrammarMatcher`.
public final class Grammar: Sendable {
    static let end: Int32 = -1

    let elements: [Int32]
    /// Per rule, where each alternative starts in `elements`.
    let alternatives: [[Int32]]
    let byteSets: [ByteSet]
    let root: Int32
    /// Per rule, the name errors use (a generated rule has its rule's name).
    let ruleNames: [String]

    /// Compiles GBNF text (see GBNFParser) starting at rule `root`.
    public convenience init(gbnf: String, root: String = "root") throws(SwiftletError) {
        try self.init(gbnf: Array(gbnf.utf8), root: root)
    }

    public init(gbnf: [UInt8], root: String = "root") throws(SwiftletError) {
        var compiler = GrammarCompiler()
        let program = try compiler.compile(GBNFParser.parse(gbnf), root: root)
        elements = program.elements
        alternatives = program.alternatives
        byteSets = program.byteSets
        self.root = program.root
        ruleNames = program.ruleNames
    }

    static func rule(_ element: Int32) -> Int32 { -(element + 2) }
    static func element(rule: Int32) -> Int32 { -(rule + 2) }

    public enum Match: Int32, Sendable {
        /// No string of the language starts with the text.
        case noMatch = 0
        /// The text continues into a string of the language but is not one.
        case prefix = 1
        /// The text is a string of the language (which may also go on).
        case complete = 2
    }

    /// How `bytes` relate to the language.
    public func match(_ bytes: UnsafeBufferPointer<UInt8>) throws(SwiftletError) -> Match {
        let matcher = GrammarMatcher(self)
        var state = try matcher.startState()
        for byte in bytes {
            state = try matcher.transition(from: state, byte: byte)
            if state == GrammarMatcher.dead { return .noMatch }
        }
        return matcher.isAccepting(state) ? .complete : .prefix
    }
}

/// A set of bytes: one element of a grammar, matching one byte of input.
struct ByteSet: Hashable, Sendable {
    private var words: (UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0)

    init(_ ranges: [ClosedRange<UInt8>]) {
        for range in ranges { for byte in range { insert(byte) } }
    }

    @inline(__always) func contains(_ byte: UInt8) -> Bool {
        let bit = UInt64(1) << (byte & 63)
        switch byte >> 6 {
        case 0: return words.0 & bit != 0
        case 1: return words.1 & bit != 0
        case 2: return words.2 & bit != 0
        default: return words.3 & bit != 0
        }
    }

    mutating func insert(_ byte: UInt8) {
        let bit = UInt64(1) << (byte & 63)
        switch byte >> 6 {
        case 0: words.0 |= bit
        case 1: words.1 |= bit
        case 2: words.2 |= bit
        default: words.3 |= bit
        }
    }

    static func == (a: ByteSet, b: ByteSet) -> Bool { a.words == b.words }

    func hash(into hasher: inout Hasher) {
        hasher.combine(words.0)
        hasher.combine(words.1)
        hasher.combine(words.2)
        hasher.combine(words.3)
    }
}
