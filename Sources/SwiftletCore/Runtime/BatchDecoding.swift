/// Tokens of several sequences to evaluate in one pass, as llama.cpp's
/// `llama_batch`: entry i is token `tokens[i]` of sequence `sequences[i]`
/// at position `positions[i]`, its logits kept if `wantsLogits[i]` ≠ 0.
public struct TokenBatch {
    public var tokens: UnsafeBufferPointer<Int32>
    /// nil: every entry in sequence 0.
    public var sequences: UnsafeBufferPointer<Int32>?
    /// nil: each entry at its sequence's next position. Given, each must be
    /// exactly that (a sequence's cache rows are its positions, gap-free).
    public var positions: UnsafeBufferPointer<Int32>?
    /// nil: the logits of each sequence's last entry.
    public var wantsLogits: UnsafeBufferPointer<Int8>?

    public init(tokens: UnsafeBufferPointer<Int32>, sequences: UnsafeBufferPointer<Int32>? = nil,
                positions: UnsafeBufferPointer<Int32>? = nil, wantsLogits: UnsafeBufferPointer<Int8>? = nil) {
        self.tokens = tokens
        self.sequences = sequences
        self.positions = positions
        self.wantsLogits = wantsLogits
    }

    func sequence(_ i: Int) -> Int { sequences.map { Int($0[i]) } ?? 0 }
}

/// Batched decoding: the tokens of many sequences evaluated together, so the
/// weights (what a step reads from memory) are read once per step for all of
/// them. Each token attends only to its own sequence's earlier positions.
extension InferenceContext {
    /// Evaluates `batch`. Its entries are grouped by sequence (in order
    /// within each) and evaluated in passes of up to `batchCapacity`; each
    /// sequence's logits become those of its last entry if that asked for
    /// them, and the entries' logits are `batchLogits(entry:)` until the next
    /// evaluation. Checked before anything is evaluated: sequence ids,
    /// positions, room (per the overflow policy), token ids. Cancelled part
    /// way, the sequences keep what was evaluated.
    public func decode(_ batch: TokenBatch) throws {
        try checkDecoder()
        let n = batch.tokens.count
        guard n > 0 else { throw SwiftletError.invalidArgument("the batch has no tokens") }
        var counts = [Int](repeating: 0, count: sequenceCount)
        for i in 0..<n {
            try checkSequence(batch.sequence(i), "seq_ids[\(i)]")
            counts[batch.sequence(i)] += 1
        }
        if let positions = batch.positions {
            var next = sequences.map(\.tokens.count)
            for i in 0..<n {
                let s = batch.sequence(i)
                guard Int(positions[i]) == next[s] else {
                    throw SwiftletError.invalidArgument(
                        "positions[\(i)] is \(positions[i]); sequence \(s) continues at \(next[s])")
                }
                next[s] += 1
            }
        }
        for (s, count) in counts.enumerated() where count > 0 { try checkRoom(for: count, sequence: s) }
        try checkVocabulary(batch.tokens)

        // Entries grouped by sequence; logits rows numbered in that order, so
        // each pass writes its rows contiguously.
        let order = (0..<n).sorted { (batch.sequence($0), $0) < (batch.sequence($1), $1) }
        var lastOfSequence = [Int](repeating: -1, count: sequenceCount)
        for i in 0..<n { lastOfSequence[batch.sequence(i)] = i }
        let wants = (0..<n).map { i in batch.wantsLogits.map { $0[i] != 0 } ?? (lastOfSequence[batch.sequence(i)] == i) }
        var rows = [Int](repeating: -1, count: n), rowCount = 0
        for i in order where wants[i] {
            rows[i] = rowCount
            rowCount += 1
        }
        let vocabulary = model.config.vocabularySize
        if rowCount * vocabulary > batchLogits?.count ?? 0 {
            batchLogits = nil  // the old rows go before the new ones are allocated
            batchLogits = try ArenaBuffer<Float>(count: rowCount * vocabulary, in: arena)
        }
        batchLogitRows = Array(repeating: -1, count: n)

        var passStart = 0
        var tokens = [Int32](repeating: 0, count: batchCapacity)
        while passStart < n {
            let entries = order[passStart..<min(passStart + batchCapacity, n)]
            // Runs of one sequence each; room is made (a shift) before any run starts.
            var runs: [SequenceRun] = []
            var runStart = 0
            for (k, i) in entries.enumerated() {
                tokens[k] = batch.tokens[i]
                let s = batch.sequence(i)
                if k + 1 == entries.count || batch.sequence(entries[entries.startIndex + k + 1]) != s {
                    try makeRoom(in: s, for: k + 1 - runStart)
                    runs.append(SequenceRun(sequence: s, tokens: runStart..<k + 1, startPosition: length(of: s)))
                    runStart = k + 1
                }
            }
            let wanted = entries.enumerated().filter { wants[$0.element] }
            let firstRow = wanted.first.map { rows[$0.element] } ?? 0
            try tokens.withUnsafeBufferPointer { tokens in
                try model.transformer.forward(
                    tokens: UnsafeBufferPointer(rebasing: tokens[..<entries.count]), layout: .sequences(runs),
                    cache: cache, scratch: scratch, plan: plan,
                    output: .logitsOf(rows: wanted.map(\.offset), into: batchLogits!.pointer + firstRow * vocabulary),
                    adapters: attachedAdapters.applied,
                    observer: observer, isCancelled: { self.isCancelled })
            }
            for i in entries { batchLogitRows[i] = rows[i] }
            for run in runs {
                let s = run.sequence
                sequences[s].tokens.append(contentsOf: tokens[run.tokens])
                let last = entries[entries.startIndex + run.tokens.upperBound - 1]
                sequences[s].logitsValid = wants[last]
                if wants[last] {
                    (sequenceLogits.pointer + s * vocabulary).update(
                        from: batchLogits!.pointer + rows[last] * vocabulary, count: vocabulary)
                }
            }
            passStart += entries.count
        }
    }

    /// The logits of entry `entry` of the last decode, nil if it did not ask
    /// for them (or something was evaluated since).
    public func batchLogits(entry: Int) -> UnsafeBufferPointer<Float>? {
        guard entry >= 0, entry < batchLogitRows.count, batchLogitRows[entry] >= 0, let batchLogits else { return nil }
        let vocabulary = model.config.vocabularySize
        return UnsafeBufferPointer(start: batchLogits.pointer + batchLogitRows[entry] * vocabulary, count: vocabulary)
    }
}
