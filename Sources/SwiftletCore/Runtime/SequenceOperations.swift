/// What evaluation does when a sequence has no room for the next tokens.
public enum OverflowPolicy: Equatable, Sendable {
    /// Stop with `.contextFull` (the default).
    case error
    /// Keep the first `keep` tokens (StreamingLLM's "attention sinks": the
    /// tokens every later one attends to most, whose loss makes a sliding
    /// window collapse) and the most recent ones; discard `discard` tokens
    /// after the kept ones (0: half of those not kept, as llama.cpp's
    /// examples do), moving the rest down. Generation then runs on past the
    /// context's size in bounded memory.
    case shift(keep: Int, discard: Int)
}

/// Per-sequence operations on the KV cache: what a server or a game with
/// several conversations in one context needs, and the context shift built on them.
extension InferenceContext {
    /// Forgets positions `range` of `sequence` and moves its later tokens
    /// down to close the gap (their cached keys re-rotated to the new
    /// positions: RoPE composes, R(p − n) = R(−n)·R(p)). A range reaching the
    /// end is a rewind. Models without rotary positions (learned or
    /// sinusoidal ones are part of every hidden state), and rings that no
    /// longer hold what the moved tokens see, evaluate the kept tokens again.
    /// The sequence's logits become unavailable until the next evaluation.
    public func removeTokens(of sequence: Int, in range: Range<Int>) throws {
        try checkSequence(sequence)
        let length = length(of: sequence)
        guard range.lowerBound >= 0, range.upperBound <= length else {
            throw SwiftletError.invalidArgument(
                "cannot remove positions \(range.lowerBound)..<\(range.upperBound): sequence \(sequence) holds \(length)")
        }
        guard !range.isEmpty else { return }
        guard range.upperBound < length else { return try rewind(to: range.lowerBound, sequence: sequence) }
        var kept = sequences[sequence].tokens
        kept.removeSubrange(range)
        sequences[sequence].logitsValid = false
        if let rerotate = model.transformer.keyRotation(movingBy: -range.count),
           cache.remove(positions: range, sequence: sequence, length: length, rerotate: rerotate) {
            sequences[sequence].tokens = kept
        } else {
            try evaluateAgain(kept, in: sequence)
        }
    }

    /// Makes `destination` hold the first `count` tokens of `source` (a
    /// shared system prompt evaluated once, then continued differently in
    /// each sequence); what `destination` held is forgotten. Its logits are
    /// `source`'s when the whole of `source` is copied.
    public func copySequence(_ source: Int, to destination: Int, count: Int) throws {
        try checkSequence(source, "source sequence id")
        try checkSequence(destination, "destination sequence id")
        guard count >= 0, count <= length(of: source) else {
            throw SwiftletError.invalidArgument(
                "cannot copy \(count) tokens: sequence \(source) holds \(length(of: source))")
        }
        guard source != destination else { return try rewind(to: count, sequence: source) }
        let prefix = Array(sequences[source].tokens[..<count])
        cache.copy(sequence: source, to: destination, length: count)
        sequences[destination].tokens = prefix
        sequences[destination].logitsValid = false
        if !cache.canResume(sequence: destination, at: count) {
            return try evaluateAgain(prefix, in: destination)
        }
        if count == length(of: source), let logits = logits(of: source) {
            let vocabulary = model.config.vocabularySize
            (sequenceLogits.pointer + destination * vocabulary).update(from: logits.baseAddress!, count: vocabulary)
            sequences[destination].logitsValid = true
        }
    }

    /// Empties every sequence but `sequence`.
    public func keepOnly(sequence: Int) throws {
        try checkSequence(sequence)
        for other in 0..<sequenceCount where other != sequence { clear(sequence: other) }
    }

    /// Before `count` tokens are evaluated in `sequence`: with the shift
    /// policy, discards tokens after the kept ones until they fit (one move);
    /// otherwise throws `.contextFull` if they do not.
    func makeRoom(in sequence: Int, for count: Int) throws {
        let length = length(of: sequence)
        let needed = length + count - capacity
        guard needed > 0 else { return }
        guard case .shift(let keep, let step) = overflow, keep < length else {
            throw SwiftletError(.contextFull, "\(count) tokens do not fit: the context holds \(length) of \(capacity)")
        }
        // Whole steps of `step` tokens, or half of what is not kept (at least what is needed).
        let discard = min(length - keep, step > 0 ? (needed + step - 1) / step * step : max(needed, (length - keep) / 2))
        guard discard >= needed else {
            throw SwiftletError(.contextFull, "\(count) tokens do not fit after the \(keep) kept ones in a context "
                                + "of \(capacity)")
        }
        try removeTokens(of: sequence, in: keep..<keep + discard)
    }
}
