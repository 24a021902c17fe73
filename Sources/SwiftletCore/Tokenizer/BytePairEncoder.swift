/// Byte-level BPE on one pre-tokenized piece.
///
/// The piece starts as one token per byte; then, repeatedly, the adjacent
/// pair with the lowest merge rank (leftmost on a tie) becomes its merged
/// token, until no adjacent pair has a rule. This is the order GPT-2, HF
/// tokenizers and llama.cpp all use. Why a heap over a linked list: a naive
/// rescan is quadratic, and a single piece can be thousands of bytes long
/// (a long run of one character, minified code).
struct BytePairEncoder: Sendable {
    let merges: MergeTable
    /// The token for each single byte, or -1 if the vocabulary has none.
    let byteTokens: [Int32]

    /// Working memory reused across the pieces of one encode call.
    struct Scratch {
        var ids: [Int32] = []      // token per symbol; -1 once merged into its left neighbour
        var previous: [Int32] = [] // linked list of the symbols still alive
        var next: [Int32] = []
        var heap: [UInt64] = []    // candidate merges: rank << 32 | left symbol index
    }

    /// Appends the tokens of `piece` to `output`.
    ///
    /// A byte the vocabulary has no token for is dropped (HF tokenizers and
    /// llama.cpp do the same); a byte-level vocabulary normally covers every
    /// byte except a few that never occur in UTF-8.
    func encode(_ piece: UnsafeBufferPointer<UInt8>, scratch: inout Scratch, into output: inout [Int32]) {
        scratch.ids.removeAll(keepingCapacity: true)
        for byte in piece {
            let id = byteTokens[Int(byte)]
            if id >= 0 { scratch.ids.append(id) }
        }
        let count = scratch.ids.count
        if count <= 1 {
            output.append(contentsOf: scratch.ids)
            return
        }

        scratch.previous.removeAll(keepingCapacity: true)
        scratch.next.removeAll(keepingCapacity: true)
        scratch.heap.removeAll(keepingCapacity: true)
        for index in 0..<count {
            scratch.previous.append(Int32(index - 1))
            scratch.next.append(index + 1 < count ? Int32(index + 1) : -1)
        }
        for index in 0..<count - 1 {
            if let rule = merges.lookup(scratch.ids[index], scratch.ids[index + 1]) {
                Self.push(rule & 0xFFFF_FFFF_0000_0000 | UInt64(index), &scratch.heap)
            }
        }

        while let candidate = Self.popMinimum(&scratch.heap) {
            let rank = candidate >> 32
            let left = Int(candidate & 0xFFFF_FFFF)
            // Skip stale candidates: the left symbol was absorbed, or either
            // side has changed since this pair was queued. Ranks identify
            // rules one-to-one, so an equal rank means the very same pair.
            let leftID = scratch.ids[left]
            let right = Int(scratch.next[left])
            guard leftID >= 0, right >= 0,
                  let rule = merges.lookup(leftID, scratch.ids[right]), rule >> 32 == rank else { continue }

            scratch.ids[left] = Int32(truncatingIfNeeded: rule)
            scratch.ids[right] = -1
            let afterRight = scratch.next[right]
            scratch.next[left] = afterRight
            if afterRight >= 0 { scratch.previous[Int(afterRight)] = Int32(left) }

            let mergedID = scratch.ids[left]
            let beforeLeft = Int(scratch.previous[left])
            if beforeLeft >= 0, let rule = merges.lookup(scratch.ids[beforeLeft], mergedID) {
                Self.push(rule & 0xFFFF_FFFF_0000_0000 | UInt64(beforeLeft), &scratch.heap)
            }
            if afterRight >= 0, let rule = merges.lookup(mergedID, scratch.ids[Int(afterRight)]) {
                Self.push(rule & 0xFFFF_FFFF_0000_0000 | UInt64(left), &scratch.heap)
            }
        }

        // Symbol 0 is never absorbed (only right-hand symbols are), so the
        // surviving list starts there.
        var index = 0
        while index >= 0 {
            output.append(scratch.ids[index])
            index = Int(scratch.next[index])
        }
    }

    // A binary min-heap on packed (rank, position) keys: comparing the
    // integers orders by rank, then leftmost position.

    private static func push(_ value: UInt64, _ heap: inout [UInt64]) {
        heap.append(value)
        var child = heap.count - 1
        while child > 0 {
            let parent = (child - 1) / 2
            if heap[parent] <= value { break }
            heap[child] = heap[parent]
            child = parent
        }
        heap[child] = value
    }

    private static func popMinimum(_ heap: inout [UInt64]) -> UInt64? {
        guard let last = heap.popLast() else { return nil }
        guard !heap.isEmpty else { return last }
        let minimum = heap[0]
        var parent = 0
        let count = heap.count
        while true {
            var child = 2 * parent + 1
            if child >= count { break }
            if child + 1 < count && heap[child + 1] < heap[child] { child += 1 }
            if last <= heap[child] { break }
            heap[parent] = heap[child]
            parent = child
        }
        heap[parent] = last
        return minimum
    }
}
