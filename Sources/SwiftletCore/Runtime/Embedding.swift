/// Sentence embeddings: one vector per sequence of token ids, pooled from the
/// final hidden states (after the final norm, where the model has one).
extension InferenceContext {
    /// Writes `sequences.count × n_embd` floats to `out`: each sequence's
    /// hidden states pooled as `pooling` says, L2-normalized with `normalize`
    /// (a zero vector stays zero).
    ///
    /// An encoder evaluates as many whole sequences as fit in `batchCapacity`
    /// tokens in each pass, packed without padding, each attending only to
    /// itself; its context holds no tokens before or after. A decoder
    /// evaluates each sequence alone from position 0 (causal, so pooling
    /// `.last` sees the whole text): the context is empty afterwards, as
    /// after `reset()`. Throws `.invalidArgument` for an empty sequence, an
    /// id outside the vocabulary, or an encoder sequence longer than
    /// `batchCapacity`; `.contextFull` for a decoder sequence longer than the
    /// context; `.cancelled` (out then holds the sequences finished before).
    public func embed(_ sequences: [[Int32]], pooling: TransformerConfig.Pooling, normalize: Bool,
                      into out: UnsafeMutablePointer<Float>) throws {
        for (i, sequence) in sequences.enumerated() {
            try checkTokens(sequence, sequence: i)
            if model.config.isCausal {
                guard sequence.count <= capacity else {
                    throw SwiftletError(.contextFull, "text \(i) has \(sequence.count) tokens; the context holds \(capacity)")
                }
            } else if sequence.count > batchCapacity {
                throw SwiftletError.invalidArgument(
                    "text \(i) has \(sequence.count) tokens, more than the context's n_batch \(batchCapacity)")
            }
        }
        let e = model.config.embeddingLength
        if model.config.isCausal {
            for (i, sequence) in sequences.enumerated() {
                try embedAlone(sequence, pooling: pooling, into: out + i * e)
            }
        } else {
            var first = 0
            while first < sequences.count {
                var end = first, tokens = 0
                while end < sequences.count, tokens + sequences[end].count <= batchCapacity {
                    tokens += sequences[end].count
                    end += 1
                }
                try embedPacked(sequences[first..<end], pooling: pooling, into: out + first * e)
                first = end
            }
        }
        if normalize {
            for i in 0..<sequences.count { normalizeL2(out + i * e, count: e) }
        }
    }

    /// One pass over whole sequences packed one after another (an encoder).
    private func embedPacked(_ sequences: ArraySlice<[Int32]>, pooling: TransformerConfig.Pooling,
                             into out: UnsafeMutablePointer<Float>) throws {
        let e = model.config.embeddingLength
        var packed: [Int32] = []
        var ranges: [Range<Int>] = []
        for sequence in sequences {
            ranges.append(packed.count..<packed.count + sequence.count)
            packed.append(contentsOf: sequence)
        }
        try packed.withUnsafeBufferPointer { tokens in
            try model.transformer.forward(
                tokens: tokens, layout: .packed(sequences: ranges), cache: cache, scratch: scratch, plan: plan,
                output: .hiddenStates(hiddenStates.pointer), adapters: attachedAdapters.applied,
                observer: observer, isCancelled: { self.isCancelled })
        }
        for (i, range) in ranges.enumerated() {
            let vector = out + i * e
            vector.initialize(repeating: 0, count: e)
            Self.pool(hiddenStates.pointer, rows: range, of: range, pooling: pooling, width: e, into: vector)
        }
    }

    /// One sequence evaluated alone from position 0 in batches, pooled as it goes (a decoder).
    private func embedAlone(_ sequence: [Int32], pooling: TransformerConfig.Pooling,
                            into vector: UnsafeMutablePointer<Float>) throws {
        let e = model.config.embeddingLength
        reset()
        defer { reset() }
        vector.initialize(repeating: 0, count: e)
        var start = 0
        while start < sequence.count {
            let end = min(start + batchCapacity, sequence.count)
            try sequence[start..<end].withUnsafeBufferPointer { batch in
                try model.transformer.forward(
                    tokens: batch, layout: .continuing(startPosition: start), cache: cache, scratch: scratch,
                    plan: plan, output: .hiddenStates(hiddenStates.pointer), adapters: attachedAdapters.applied,
                    observer: observer, isCancelled: { self.isCancelled })
            }
            Self.pool(hiddenStates.pointer - start * e, rows: start..<end, of: 0..<sequence.count, pooling: pooling,
                      width: e, into: vector)
            start = end
        }
    }

    /// Adds rows `rows` (a part of `sequence`, both indexing `states`) into
    /// `vector` as `pooling` weighs them: 1/count each for the mean, only the
    /// sequence's first or last row otherwise.
    private static func pool(_ states: UnsafePointer<Float>, rows: Range<Int>, of sequence: Range<Int>,
                             pooling: TransformerConfig.Pooling, width e: Int, into vector: UnsafeMutablePointer<Float>) {
        func add(_ row: Int, weight: Float) {
            let state = states + row * e
            for j in 0..<e { vector[j] += weight * state[j] }
        }
        switch pooling {
        case .mean:
            let weight = 1 / Float(sequence.count)
            for row in rows { add(row, weight: weight) }
        case .first:
            if rows.contains(sequence.lowerBound) { add(sequence.lowerBound, weight: 1) }
        case .last:
            if rows.contains(sequence.upperBound - 1) { add(sequence.upperBound - 1, weight: 1) }
        }
    }

    private func normalizeL2(_ x: UnsafeMutablePointer<Float>, count: Int) {
        var squares: Double = 0
        for i in 0..<count { squares += Double(x[i]) * Double(x[i]) }
        guard squares > 0 else { return }
        let scale = Float(1 / squares.squareRoot())
        for i in 0..<count { x[i] *= scale }
    }
}
