/// Runs a grammar over bytes, one byte at a time, remembering what it has
/// worked out so each (state, byte) step is computed once.
///
/// A parse position is a stack: the element to match next on top, and below
/// it where each enclosing rule goes on once the inner one is done (as in
/// llama.cpp). Stacks share their tails, so each is a node (position, parent
/// node) in one table, interned: equal stacks are the same node. A state is
/// the sorted set of stacks the input so far allows; -1 in it is the empty
/// stack, meaning the input is complete. States are interned too, and each
/// has a row of 256 transitions filled in as they are asked for: following
/// a token's bytes, or a walk of the vocabulary's prefix tree, is then
/// mostly array lookups.
///
/// Not thread-safe: one matcher per sampler. Tables only grow; `compacted`
/// starts them over around one state, and `maximumStates`/`maximumNodes`
/// bound what one token's work may build (OUT_OF_MEMORY beyond).
final class GrammarMatcher {
    static let dead: Int32 = -1
    static let maximumStacksPerState = 1 << 16
    static let maximumStates = 1 << 15
    static let maximumNodes = 1 << 21
    private static let unknown: Int32 = -2
    private static let maximumExpansions = 1 << 20

    let grammar: Grammar
    private var nodePositions: [Int32] = []
    private var nodeParents: [Int32] = []
    private var nodeIndex: [UInt64: Int32] = [:]
    private var stateStacks: [[Int32]] = []
    private var stateIndex: [[Int32]: Int32] = [:]
    private var transitions: [Int32] = []
    /// Scratch of one expansion, kept to reuse their storage.
    private var pending: [(position: Int32, parent: Int32)] = []
    private var expanded: Set<UInt64> = []
    private var found: [Int32] = []

    init(_ grammar: Grammar) {
        self.grammar = grammar
    }

    var stateCount: Int { stateStacks.count }
    var nodeCount: Int { nodePositions.count }

    /// Whether the input that led to `state` is a string of the language.
    func isAccepting(_ state: Int32) -> Bool {
        stateStacks[Int(state)].first == -1
    }

    /// The state before any input.
    func startState() throws(SwiftletError) -> Int32 {
        beginExpansion()
        for start in grammar.alternatives[Int(grammar.root)] { pending.append((start, -1)) }
        try expand()
        return try internFound()
    }

    /// The state after `byte`, or `dead` if the language has no such string.
    @inline(__always)
    func transition(from state: Int32, byte: UInt8) throws(SwiftletError) -> Int32 {
        let next = transitions[Int(state) &* 256 &+ Int(byte)]
        return next != Self.unknown ? next : try computeTransition(from: state, byte: byte)
    }

    @inline(never)
    private func computeTransition(from state: Int32, byte: UInt8) throws(SwiftletError) -> Int32 {
        beginExpansion()
        for node in stateStacks[Int(state)] where node >= 0 {
            let position = nodePositions[Int(node)]
            if grammar.byteSets[Int(grammar.elements[Int(position)])].contains(byte) {
                pending.append((position + 1, nodeParents[Int(node)]))
            }
        }
        try expand()
        let next = found.isEmpty ? Self.dead : try internFound()
        transitions[Int(state) * 256 + Int(byte)] = next
        return next
    }

    private func beginExpansion() {
        pending.removeAll(keepingCapacity: true)
        expanded.removeAll(keepingCapacity: true)
        found.removeAll(keepingCapacity: true)
    }

    /// Expands the pending (position, parent) pairs until each stack has a
    /// byte set on top (or is empty), collecting those stacks in `found`.
    /// A rule reference pushes the rule's alternatives; the end of an
    /// alternative pops back to the parent's continuation. When a reference
    /// is the last element of its alternative, the continuation is the
    /// parent itself, so right recursion (x ::= "a" x | "") keeps one depth.
    private func expand() throws(SwiftletError) {
        while let (position, parent) = pending.popLast() {
            guard expanded.insert(key(position, parent)).inserted else { continue }
            guard expanded.count <= Self.maximumExpansions else { throw tooLarge("expands into too many alternatives") }
            let element = grammar.elements[Int(position)]
            if element >= 0 {
                found.append(try node(position, parent))
            } else if element == Grammar.end {
                if parent < 0 {
                    found.append(-1)
                } else {
                    pending.append((nodePositions[Int(parent)], nodeParents[Int(parent)]))
                }
            } else {
                let continuation = grammar.elements[Int(position) + 1] == Grammar.end ? parent : try node(position + 1, parent)
                for start in grammar.alternatives[Int(Grammar.rule(element))] { pending.append((start, continuation)) }
            }
        }
    }

    private func node(_ position: Int32, _ parent: Int32) throws(SwiftletError) -> Int32 {
        let k = key(position, parent)
        if let existing = nodeIndex[k] { return existing }
        guard nodePositions.count < Self.maximumNodes else { throw tooLarge("holds too many parse stacks") }
        nodePositions.append(position)
        nodeParents.append(parent)
        let id = Int32(nodePositions.count - 1)
        nodeIndex[k] = id
        return id
    }

    private func internFound() throws(SwiftletError) -> Int32 {
        found.sort()
        var stacks: [Int32] = []
        stacks.reserveCapacity(found.count)
        for node in found where stacks.last != node { stacks.append(node) }
        guard stacks.count <= Self.maximumStacksPerState else {
            throw tooLarge("is ambiguous beyond \(Self.maximumStacksPerState) parses at once")
        }
        if let existing = stateIndex[stacks] { return existing }
        guard stateStacks.count < Self.maximumStates else { throw tooLarge("reached more than \(Self.maximumStates) states") }
        stateStacks.append(stacks)
        transitions.append(contentsOf: repeatElement(Self.unknown, count: 256))
        let id = Int32(stateStacks.count - 1)
        stateIndex[stacks] = id
        return id
    }

    /// Forgets every table but what `state` needs; returns its new id.
    func compacted(keeping state: Int32) throws(SwiftletError) -> Int32 {
        let stacks: [[Int32]] = stateStacks[Int(state)].map { top in
            var positions: [Int32] = []
            var node = top
            while node >= 0 {
                positions.append(nodePositions[Int(node)])
                node = nodeParents[Int(node)]
            }
            return positions.reversed()
        }
        nodePositions.removeAll(keepingCapacity: true)
        nodeParents.removeAll(keepingCapacity: true)
        nodeIndex.removeAll(keepingCapacity: true)
        stateStacks.removeAll(keepingCapacity: true)
        stateIndex.removeAll(keepingCapacity: true)
        transitions.removeAll(keepingCapacity: true)
        beginExpansion()
        for positions in stacks {
            var parent: Int32 = -1
            for position in positions { parent = try node(position, parent) }
            found.append(parent)
        }
        return try internFound()
    }

    private func key(_ position: Int32, _ parent: Int32) -> UInt64 {
        UInt64(UInt32(bitPattern: position)) << 32 | UInt64(UInt32(bitPattern: parent))
    }

    private func tooLarge(_ what: String) -> SwiftletError {
        SwiftletError(.outOfMemory, "the grammar's parse \(what) (rule \"\(grammar.ruleNames[Int(grammar.root)])\")")
    }
}
