import Synchronization

/// The vocabulary as a prefix tree of the tokens' text bytes, so a grammar
/// mask follows each shared prefix once ("ab", "abc" and "abd" cost three
/// steps, not eight), and a prefix the grammar rejects drops every token
/// under it. Control tokens have no text and are not in it; the
/// end-of-generation tokens are listed apart. Built once per tokenizer.
public final class TokenTrie: Sendable {
    let vocabularySize: Int
    /// Node 0 is the root; node i's children are firstChild[i] ..<
    /// firstChild[i] + childCount[i], each reached by its edgeByte.
    let firstChild: [Int32]
    let childCount: [Int32]
    let edgeByte: [UInt8]
    /// The tokens whose text ends at node i: tokens[tokenStart[i] ..< tokenStart[i + 1]].
    let tokenStart: [Int32]
    let tokens: [Int32]
    /// Each token's text (empty for tokens not in the tree).
    let textOffsets: [Int32]
    let textBytes: [UInt8]
    let endOfGeneration: [Int32]

    init(_ tokenizer: Tokenizer) {
        vocabularySize = tokenizer.vocabularySize
        var offsets: [Int32] = [0]
        var storage: [UInt8] = []
        var eog: [Int32] = []
        for id in 0..<Int32(vocabularySize) {
            if tokenizer.isEndOfGeneration(id) { eog.append(id) }
            if let type = tokenizer.tokenType(id), type != .control, type != .unknown, type != .unused, type != .undefined {
                storage += tokenizer.pieceBytes(id) ?? []
            }
            offsets.append(Int32(storage.count))
        }
        textOffsets = offsets
        textBytes = storage
        endOfGeneration = eog

        let length = { (id: Int32) in Int(offsets[Int(id) + 1] - offsets[Int(id)]) }
        let byte = { (id: Int32, depth: Int) in storage[Int(offsets[Int(id)]) + depth] }
        var sorted = (0..<Int32(vocabularySize)).filter { length($0) > 0 }
        sorted.sort { a, b in
            let la = length(a), lb = length(b)
            for d in 0..<min(la, lb) where byte(a, d) != byte(b, d) { return byte(a, d) < byte(b, d) }
            return la < lb
        }

        // Breadth first: a node's children are made together, so they are contiguous.
        var first: [Int32] = [0], count: [Int32] = [0], edges: [UInt8] = [0]
        var starts: [Int32] = [], ids: [Int32] = []
        var queue: [(node: Int, range: Range<Int>, depth: Int)] = [(0, 0..<sorted.count, 0)]
        var next = 0
        while next < queue.count {
            let (node, range, depth) = queue[next]
            next += 1
            starts.append(Int32(ids.count))
            var i = range.lowerBound
            while i < range.upperBound && length(sorted[i]) == depth {
                ids.append(sorted[i])
                i += 1
            }
            first[node] = Int32(edges.count)
            while i < range.upperBound {
                let b = byte(sorted[i], depth)
                var j = i + 1
                while j < range.upperBound && byte(sorted[j], depth) == b { j += 1 }
                queue.append((edges.count, i..<j, depth + 1))
                edges.append(b)
                first.append(0)
                count.append(0)
                i = j
            }
            count[node] = Int32(edges.count) - first[node]
        }
        starts.append(Int32(ids.count))
        firstChild = first
        childCount = count
        edgeByte = edges
        tokenStart = starts
        tokens = ids
    }

    /// Token `id`'s text bytes (empty if it has none or is not in the vocabulary).
    func text(_ id: Int32) -> ArraySlice<UInt8> {
        guard id >= 0, Int(id) < vocabularySize else { return [] }
        return textBytes[Int(textOffsets[Int(id)])..<Int(textOffsets[Int(id) + 1])]
    }
}

extension Tokenizer {
    /// This vocabulary's prefix tree, built at the first call.
    public var tokenTrie: TokenTrie {
        tokenTrieCache.withLock { cached in
            if let cached { return cached }
            let trie = TokenTrie(self)
            cached = trie
            return trie
        }
    }
}
