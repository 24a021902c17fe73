/// SentencePiece-style encoding (`tokenizer.ggml.model = "llama"`), exactly as
/// llama.cpp's `llm_tokenizer_spm_session` does it.
///
/// The text (spaces already escaped to "▁" by the caller) starts as one symbol
/// per UTF-8 character, its length read from the lead byte alone as llama.cpp
/// does (so ill-formed UTF-8 is cut the same way). Then, repeatedly, the
/// adjacent pair whose concatenation is a vocabulary token with the highest
/// score is merged (leftmost on a tie). Any token counts, whatever its type.
/// A symbol left that is not a token becomes one byte token `<0xNN>` per byte.
/// Why a heap: a naive rescan is quadratic and one fragment can be long.
struct SentencePieceEncoder: Sendable {
    let index: TokenTextIndex
    let scores: [Float]
    /// The token for each byte (`<0xNN>`, else the byte itself), or -1.
    let byteTokens: [Int32]

    init(index: TokenTextIndex, scores: [Float]) {
        self.index = index
        self.scores = scores
        let hex = Array("0123456789ABCDEF".utf8)
        byteTokens = (0..<256).map { byte in
            let name: [UInt8] = [UInt8(ascii: "<"), UInt8(ascii: "0"), UInt8(ascii: "x"),
                                 hex[byte >> 4], hex[byte & 15], UInt8(ascii: ">")]
            return index.find(name) ?? index.find([UInt8(byte)]) ?? -1
        }
    }

    /// A candidate merge of symbol `left` with symbol `right`, queued when
    /// their texts together were `size` bytes.
    struct Bigram {
        var score: Float
        var left: Int32
        var right: Int32
        var size: Int32

        /// llama.cpp's order: higher score first, then the leftmost.
        func precedes(_ other: Bigram) -> Bool {
            score > other.score || (score == other.score && left < other.left)
        }
    }

    /// Working memory reused across the fragments of one encode call.
    struct Scratch {
        var start: [Int32] = []    // byte offset of each symbol
        var length: [Int32] = []   // byte length; 0 once merged into its left neighbour
        var previous: [Int32] = []
        var next: [Int32] = []
        var heap: [Bigram] = []
    }

    /// Appends the tokens of `text` (whitespace already escaped) to `output`.
    func encode(_ text: UnsafeBufferPointer<UInt8>, scratch: inout Scratch, into output: inout [Int32]) {
        scratch.start.removeAll(keepingCapacity: true)
        scratch.length.removeAll(keepingCapacity: true)
        scratch.previous.removeAll(keepingCapacity: true)
        scratch.next.removeAll(keepingCapacity: true)
        scratch.heap.removeAll(keepingCapacity: true)
        var offset = 0
        while offset < text.count {
            let length = min(Self.sequenceLength(text[offset]), text.count - offset)
            let symbol = Int32(scratch.start.count)
            scratch.start.append(Int32(offset))
            scratch.length.append(Int32(length))
            scratch.previous.append(symbol - 1)
            offset += length
            scratch.next.append(offset == text.count ? -1 : symbol + 1)
        }
        guard !scratch.start.isEmpty else { return }

        for right in 1..<scratch.start.count { tryAdd(Int32(right - 1), Int32(right), text, &scratch) }

        while let bigram = Self.popFirst(&scratch.heap) {
            let left = Int(bigram.left), right = Int(bigram.right)
            // Stale: a side was absorbed or has grown since this pair was queued.
            guard scratch.length[left] != 0, scratch.length[right] != 0,
                  scratch.length[left] + scratch.length[right] == bigram.size else { continue }
            scratch.length[left] += scratch.length[right]
            scratch.length[right] = 0
            scratch.next[left] = scratch.next[right]
            if scratch.next[right] >= 0 { scratch.previous[Int(scratch.next[right])] = bigram.left }
            tryAdd(scratch.previous[left], bigram.left, text, &scratch)
            tryAdd(bigram.left, scratch.next[left], text, &scratch)
        }

        var symbol: Int32 = 0
        while symbol >= 0 {
            let start = Int(scratch.start[Int(symbol)])
            let piece = UnsafeBufferPointer(rebasing: text[start..<start + Int(scratch.length[Int(symbol)])])
            if let id = index.find(piece) {
                output.append(id)
            } else {
                // llama.cpp fails on a byte without a token; no real vocabulary lacks one.
                for byte in piece where byteTokens[Int(byte)] >= 0 { output.append(byteTokens[Int(byte)]) }
            }
            symbol = scratch.next[Int(symbol)]
        }
    }

    /// UTF-8 sequence length from the lead byte's high nibble, unchecked
    /// (llama.cpp's `unicode_len_utf8`): continuation bytes count as 1.
    static func sequenceLength(_ byte: UInt8) -> Int {
        switch byte >> 4 {
        case 0xC, 0xD: return 2
        case 0xE: return 3
        case 0xF: return 4
        default: return 1
        }
    }

    private func tryAdd(_ left: Int32, _ right: Int32, _ text: UnsafeBufferPointer<UInt8>, _ scratch: inout Scratch) {
        guard left >= 0, right >= 0 else { return }
        let start = Int(scratch.start[Int(left)])
        let size = scratch.length[Int(left)] + scratch.length[Int(right)]
        guard let id = index.find(UnsafeBufferPointer(rebasing: text[start..<start + Int(size)])) else { return }
        Self.push(Bigram(score: scores[Int(id)], left: left, right: right, size: size), &scratch.heap)
    }

    private static func push(_ bigram: Bigram, _ heap: inout [Bigram]) {
        heap.append(bigram)
        var child = heap.count - 1
        while child > 0 {
            let parent = (child - 1) / 2
            guard heap[child].precedes(heap[parent]) else { break }
            heap.swapAt(child, parent)
            child = parent
        }
    }

    private static func popFirst(_ heap: inout [Bigram]) -> Bigram? {
        guard let last = heap.popLast() else { return nil }
        guard !heap.isEmpty else { return last }
        let first = heap[0]
        heap[0] = last
        var parent = 0
        while true {
            let leftChild = 2 * parent + 1
            guard leftChild < heap.count else { break }
            var best = leftChild
            if leftChild + 1 < heap.count && heap[leftChild + 1].precedes(heap[leftChild]) { best = leftChild + 1 }
            guard heap[best].precedes(heap[parent]) else { break }
            heap.swapAt(best, parent)
            parent = best
        }
        return first
    }
}
