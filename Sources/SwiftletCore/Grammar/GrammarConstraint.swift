/// A grammar followed token by token: where the text generated so far has
/// brought the grammar, which tokens may come next, and the step past the
/// token chosen. One per sampler (so one per sequence).
///
/// Two ways to ask: `allows(token)` follows one token's bytes (a handful of
/// table lookups), and `allowedTokens()` walks the vocabulary's prefix tree
/// from the current state into a mask, remembered per state: the states of
/// a JSON document recur (inside a string, after a key), so most masks are
/// computed once.
final class GrammarConstraint {
    let grammar: Grammar
    private var matcher: GrammarMatcher
    private var trie: TokenTrie?
    private var state: Int32?
    /// Set once an end-of-generation token is accepted: nothing may follow.
    private var finished = false
    private var masks: [Int32: TokenMask] = [:]
    /// Keeps the remembered masks under about this many bytes.
    private static let maskCacheBytes = 32 << 20
    /// Past these, the matcher's tables start over around the current state.
    private static let compactionStates = GrammarMatcher.maximumStates / 4
    private static let compactionNodes = GrammarMatcher.maximumNodes / 4

    init(_ grammar: Grammar) {
        self.grammar = grammar
        matcher = GrammarMatcher(grammar)
    }

    /// Back to the start; the vocabulary is chosen again at the next use.
    func reset() {
        matcher = GrammarMatcher(grammar)
        trie = nil
        state = nil
        finished = false
        masks = [:]
    }

    /// Binds to `tokenizer`'s vocabulary at the first use after a reset.
    func use(_ tokenizer: Tokenizer) throws(SwiftletError) {
        let wanted = tokenizer.tokenTrie
        if let trie {
            guard trie === wanted else {
                throw SwiftletError.invalidArgument("this sampler follows its grammar through another model's tokens; reset it first")
            }
            return
        }
        trie = wanted
    }

    private func current() throws(SwiftletError) -> (TokenTrie, Int32) {
        guard let trie else { throw SwiftletError(.internal, "the grammar constraint has no vocabulary") }
        if let state { return (trie, state) }
        let start = try matcher.startState()
        state = start
        return (trie, start)
    }

    /// Whether `token` may come next.
    func allows(_ token: Int32) throws(SwiftletError) -> Bool {
        let (trie, state) = try current()
        if finished { return false }
        if trie.endOfGeneration.contains(token) { return matcher.isAccepting(state) }
        let text = trie.text(token)
        if text.isEmpty { return false }
        var s = state
        for byte in text {
            s = try matcher.transition(from: s, byte: byte)
            if s == GrammarMatcher.dead { return false }
        }
        return true
    }

    /// Every token that may come next; throws if there is none.
    func allowedTokens() throws(SwiftletError) -> TokenMask {
        let (trie, state) = try current()
        if let mask = masks[state] { return mask }
        var mask = TokenMask(count: trie.vocabularySize)
        if !finished {
            if matcher.isAccepting(state) { for token in trie.endOfGeneration { mask.insert(token) } }
            var walk: [(node: Int32, state: Int32)] = [(0, state)]
            while let (node, s) = walk.popLast() {
                let first = Int(trie.firstChild[Int(node)])
                for child in first..<(first + Int(trie.childCount[Int(node)])) {
                    let next = try matcher.transition(from: s, byte: trie.edgeByte[child])
                    if next == GrammarMatcher.dead { continue }
                    for i in Int(trie.tokenStart[child])..<Int(trie.tokenStart[child + 1]) { mask.insert(trie.tokens[i]) }
                    if trie.childCount[child] > 0 { walk.append((Int32(child), next)) }
                }
            }
        }
        guard !mask.isEmpty else {
            throw SwiftletError.invalidArgument(finished
                ? "the grammar is complete: reset the sampler to start it over"
                : "no token of this model's vocabulary can continue the grammar here")
        }
        if (masks.count + 1) * mask.byteCount > Self.maskCacheBytes { masks.removeAll(keepingCapacity: true) }
        masks[state] = mask
        return mask
    }

    /// Moves past `token`, which `allows` accepted.
    func accept(_ token: Int32) throws(SwiftletError) {
        let (trie, start) = try current()
        if trie.endOfGeneration.contains(token) {
            finished = true
            return
        }
        var s = start
        for byte in trie.text(token) {
            s = try matcher.transition(from: s, byte: byte)
            guard s != GrammarMatcher.dead else { throw SwiftletError.invalidArgument("token \(token) does not continue the grammar") }
        }
        if matcher.stateCount > Self.compactionStates || matcher.nodeCount > Self.compactionNodes {
            s = try matcher.compacted(keeping: s)
            masks.removeAll()
        }
        state = s
    }
}

/// One bit per vocabulary entry.
struct TokenMask {
    private var words: [UInt64]

    init(count: Int) {
        words = [UInt64](repeating: 0, count: (count + 63) / 64)
    }

    var byteCount: Int { words.count * 8 }
    var isEmpty: Bool { words.allSatisfy { $0 == 0 } }

    @inline(__always) func contains(_ token: Int32) -> Bool {
        let i = Int(token)
        return i >= 0 && i >> 6 < words.count && words[i >> 6] & (1 << UInt64(i & 63)) != 0
    }

    @inline(__always) mutating func insert(_ token: Int32) {
        words[Int(token) >> 6] |= 1 << UInt64(token & 63)
    }
}
