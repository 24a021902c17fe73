/// WordPiece (BERT's subword model, HF `models::WordPiece`): each word is cut
/// greedily into the longest vocabulary entry from its start, then the
/// longest "##"-prefixed entry from there, and so on. A word that cannot be
/// cut all the way, or that has more than `maximumCharactersPerWord`
/// characters, becomes one unknown token.
///
/// Lookups go through `TokenTextIndex` (byte-exact, no String hashing) over
/// the vocabulary as HF spells it ("##ing"). The key for a continuation is
/// made in place: the word's bytes sit in a buffer behind room for the
/// prefix, and the prefix is written over bytes that are already consumed,
/// so no lookup allocates.
struct WordPieceEncoder: Sendable {
    /// The vocabulary as HF spells it, continuations with their prefix.
    let index: TokenTextIndex
    let continuationPrefix: [UInt8]
    let unknownID: Int32
    let maximumCharactersPerWord: Int

    struct Scratch {
        var key: [UInt8] = []
        /// Byte offset in `key` where each character of the word starts, then the end.
        var boundaries: [Int] = []
    }

    /// Appends the ids of `word` (one pre-tokenized word) to `output`.
    func encode(_ word: ArraySlice<Unicode.Scalar>, scratch: inout Scratch, into output: inout [Int32]) {
        guard word.count <= maximumCharactersPerWord else {
            output.append(unknownID)
            return
        }
        let prefixLength = continuationPrefix.count
        scratch.key.removeAll(keepingCapacity: true)
        scratch.boundaries.removeAll(keepingCapacity: true)
        scratch.key.append(contentsOf: continuationPrefix)
        for scalar in word {
            scratch.boundaries.append(scratch.key.count)
            UTF8.encode(scalar) { scratch.key.append($0) }
        }
        scratch.boundaries.append(scratch.key.count)

        let firstOutput = output.count
        let characterCount = word.count
        let complete: Bool = scratch.boundaries.withUnsafeBufferPointer { boundaries in
            scratch.key.withUnsafeMutableBufferPointer { key in
                var start = 0
                while start < characterCount {
                    var keyStart = boundaries[start]
                    if start > 0 {
                        // Overwrites the end of the previous piece, already emitted.
                        keyStart -= prefixLength
                        for offset in 0..<prefixLength { key[keyStart + offset] = continuationPrefix[offset] }
                    }
                    var end = characterCount
                    var found: Int32?
                    while end > start {
                        let candidate = UnsafeBufferPointer(rebasing: key[keyStart..<boundaries[end]])
                        if let id = index.find(candidate) {
                            found = id
                            break
                        }
                        end -= 1
                    }
                    guard let found else { return false }
                    output.append(found)
                    start = end
                }
                return true
            }
        }
        if !complete {
            output.removeSubrange(firstOutput...)
            output.append(unknownID)
        }
    }
}
