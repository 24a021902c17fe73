/// How text is cut into pieces before BPE, chosen by `tokenizer.ggml.pre`.
///
/// Why it matters: BPE never merges across piece boundaries, so the split
/// decides, for example, whether "2024" is one token or four. A model only
/// reproduces its training tokenization with the split it was trained with,
/// so an unknown name is an error, never a silent fallback.
enum PreTokenizer: Sendable, Equatable {
    /// "gpt-2": the GPT-2 pattern alone.
    case gpt2
    /// "smollm" (SmolLM/SmolLM2, StarCoder-style): every \p{N} character is a
    /// piece of its own, then the GPT-2 pattern runs on the parts between.
    /// This is HF's Sequence[Digits(individual_digits=True), ByteLevel(use_regex=True)]
    /// and llama.cpp's ["\p{N}", gpt-2 pattern].
    case smollm
    /// No `tokenizer.ggml.pre` key, or "default": what llama.cpp does for
    /// such files (it warns that quality may be degraded). Four patterns
    /// applied in turn, each to every piece the previous ones left:
    /// [\p{P}$+<=>^~|]+ ; the GPT-2 pattern ; \p{N}+ ; [0-9][0-9][0-9].
    /// Old GGUF files predate the key; reproducing llama.cpp keeps their
    /// tokens identical to what llama.cpp gives, which is the best available
    /// reference for them.
    case llamaDefault

    /// The pre-tokenizer named by `tokenizer.ggml.pre` (nil when the key is absent).
    init(ggufName: String?) throws {
        switch ggufName {
        case "gpt-2": self = .gpt2
        case "smollm": self = .smollm
        case nil, "default": self = .llamaDefault
        case let name?:
            throw SwiftletError.unsupported("unsupported pre-tokenizer \"\(name)\" (tokenizer.ggml.pre); supported: gpt-2, smollm, default")
        }
    }

    /// Appends the pieces of `characters` (character index ranges, in order,
    /// covering everything) to `pieces`.
    func split(_ characters: CharacterSequence, into pieces: inout [Range<Int>]) {
        let all = 0..<characters.count
        switch self {
        case .gpt2:
            GPT2Split.split(characters, all, into: &pieces)
        case .smollm:
            Self.isolateNumbers(characters, all) { range, isNumber in
                if isNumber {
                    pieces.append(range)
                } else {
                    GPT2Split.split(characters, range, into: &pieces)
                }
            }
        case .llamaDefault:
            Self.llamaDefaultSplit(characters, into: &pieces)
        }
    }

    /// Calls `body` for each \p{N} character alone and each run of other characters.
    private static func isolateNumbers(_ characters: CharacterSequence, _ range: Range<Int>,
                                       _ body: (Range<Int>, _ isNumber: Bool) -> Void) {
        let classes = characters.classes
        var runStart = range.lowerBound
        for index in range where classes[index] == .number {
            if runStart < index { body(runStart..<index, false) }
            body(index..<index + 1, true)
            runStart = index + 1
        }
        if runStart < range.upperBound { body(runStart..<range.upperBound, false) }
    }

    private static func llamaDefaultSplit(_ characters: CharacterSequence, into pieces: inout [Range<Int>]) {
        // 1. [\p{P}$+<=>^~|]+ : runs of punctuation split from the rest.
        var stage: [Range<Int>] = []
        splitRuns(0..<characters.count, into: &stage) { index in
            guard let scalar = characters.scalar(at: index) else { return false }
            return CharacterClass.isPunctuation(scalar) || "$+<=>^~|".unicodeScalars.contains(scalar)
        }
        // 2. The GPT-2 pattern on each part.
        var next: [Range<Int>] = []
        for range in stage { GPT2Split.split(characters, range, into: &next) }
        // 3. \p{N}+ : number runs split from the rest.
        stage.removeAll(keepingCapacity: true)
        for range in next {
            splitRuns(range, into: &stage) { characters.classes[$0] == .number }
        }
        // 4. [0-9][0-9][0-9] : each run of ASCII digits cut into threes from the left.
        for range in stage {
            var index = range.lowerBound
            var pendingStart = index  // start of text not yet emitted
            while index + 3 <= range.upperBound {
                if (index..<index + 3).allSatisfy({ isASCIIDigit(characters.scalarValues[$0]) }) {
                    if pendingStart < index { pieces.append(pendingStart..<index) }
                    pieces.append(index..<index + 3)
                    index += 3
                    pendingStart = index
                } else {
                    index += 1
                }
            }
            if pendingStart < range.upperBound { pieces.append(pendingStart..<range.upperBound) }
        }
    }

    /// Splits `range` into maximal runs where `matches` holds and the parts between.
    private static func splitRuns(_ range: Range<Int>, into pieces: inout [Range<Int>], _ matches: (Int) -> Bool) {
        var start = range.lowerBound
        while start < range.upperBound {
            let inRun = matches(start)
            var end = start + 1
            while end < range.upperBound && matches(end) == inRun { end += 1 }
            pieces.append(start..<end)
            start = end
        }
    }

    private static func isASCIIDigit(_ value: UInt32) -> Bool {
        value >= 0x30 && value <= 0x39
    }
}
