import Glibc
import Synchronization

/// One model's conversations: the KV cache of up to `sequenceCount`
/// sequences, scratch buffers, worker threads, each sequence's tokens and
/// last logits. Sequence 0 is "the" sequence of the single-sequence calls
/// (evaluate, rewind, generate, chat); `decode` evaluates tokens of several
/// sequences in one pass. Used by one thread at a time (`exclusive` detects a
/// second caller); `cancel()` is the exception and may come from any thread.
public final class InferenceContext: @unchecked Sendable {
    public let model: LanguageModel
    /// Positions per sequence.
    public let capacity: Int
    public let batchCapacity: Int
    public let sequenceCount: Int
    /// What evaluation does when a sequence is full.
    public let overflow: OverflowPolicy

    let arena: Arena
    private let pool: WorkerPool
    let cache: KVCache
    let scratch: ForwardScratch
    let plan: ExecutionPlan
    /// Each sequence's tokens (the KV cache's contents, in position order)
    /// and whether its row of `sequenceLogits` holds its last token's logits.
    var sequences: [SequenceState]
    /// n_vocab floats per sequence.
    let sequenceLogits: ArenaBuffer<Float>
    /// The last decode's logits rows (grown on demand) and each batch entry's row, -1 for none.
    var batchLogits: ArenaBuffer<Float>?
    var batchLogitRows: [Int] = []
    /// A batch's final hidden states, for embeddings (batchCapacity × n_embd).
    let hiddenStates: ArenaBuffer<Float>
    /// Sees every forward pass the context runs (each eval, decode, generated
    /// token, embedding, re-evaluation), or nil.
    public var observer: Observer?
    /// The LoRA adapters every pass applies (AdapterSet.swift).
    var attachedAdapters = AdapterAttachment()
    /// The running call, if any: (call number << 1) | 1 while a call runs,
    /// (number of the last call << 1) while idle. Numbers start at 1.
    private let callState = Atomic<UInt64>(0)
    /// The number of the call a cancel request was aimed at; 0 for none. A
    /// request names its call, so it can never leak into a later one.
    private let cancelledCall = Atomic<UInt64>(0)

    struct SequenceState {
        var tokens: [Int32] = []
        var logitsValid = false
    }

    public static let defaultCapacityLimit = 4096
    public static let defaultBatchCapacity = 256
    /// The most sequences one context holds (llama.cpp's limit too).
    public static let maximumSequences = 256

    /// `capacity` 0 = the model's trained length, at most 4096; `threads` 0 =
    /// one per core; `batchCapacity` 0 = 256 for a decoder, `capacity` for an
    /// encoder (whose sequences are evaluated whole, in one pass each);
    /// `sequences` 0 = 1 (each holds up to `capacity` positions).
    public init(model: LanguageModel, capacity: Int, threads: Int, batchCapacity: Int, sequences: Int = 1,
                overflow: OverflowPolicy = .error) throws {
        guard capacity >= 0, threads >= 0, batchCapacity >= 0, sequences >= 0 else {
            throw SwiftletError.invalidArgument("n_ctx, n_threads, n_batch and n_seq_max must not be negative")
        }
        guard threads <= 1024 else { throw SwiftletError.invalidArgument("n_threads \(threads) is too large") }
        guard sequences <= Self.maximumSequences else {
            throw SwiftletError.invalidArgument("n_seq_max \(sequences) is more than \(Self.maximumSequences)")
        }
        let chosenCapacity = capacity == 0 ? min(model.config.contextLength, Self.defaultCapacityLimit) : capacity
        guard chosenCapacity <= TransformerConfig.maximumDimension else {
            throw SwiftletError.invalidArgument("n_ctx \(capacity) is too large")
        }
        // Learned positions exist only for the positions the model was trained on.
        guard model.config.positions != .learned || chosenCapacity <= model.config.contextLength else {
            throw SwiftletError.invalidArgument(
                "n_ctx \(capacity) is more than the \(model.config.contextLength) positions this model has embeddings for")
        }
        if case .shift(let keep, let discard) = overflow {
            guard keep >= 0, discard >= 0 else {
                throw SwiftletError.invalidArgument("n_keep and n_discard must not be negative")
            }
            guard keep < chosenCapacity else {
                throw SwiftletError.invalidArgument("n_keep \(keep) leaves no room in a context of \(chosenCapacity)")
            }
        }
        self.model = model
        self.capacity = chosenCapacity
        self.overflow = overflow
        sequenceCount = max(1, sequences)
        let defaultBatch = model.config.isCausal ? Self.defaultBatchCapacity : chosenCapacity
        self.batchCapacity = min(batchCapacity == 0 ? defaultBatch : batchCapacity, chosenCapacity)
        arena = try Arena()
        pool = try WorkerPool(threadCount: threads == 0 ? processorCount() : threads)
        cache = try KVCache(config: model.config, capacity: chosenCapacity, sequenceCount: sequenceCount,
                            batchCapacity: self.batchCapacity, arena: arena)
        scratch = try ForwardScratch(config: model.config, batchCapacity: self.batchCapacity, arena: arena)
        plan = try ExecutionPlan(config: model.config, formats: model.transformer.weights.projectionFormats,
                                 batchCapacity: self.batchCapacity, contextCapacity: chosenCapacity,
                                 pool: pool, arena: arena)
        self.sequences = Array(repeating: SequenceState(), count: sequenceCount)
        sequenceLogits = try ArenaBuffer<Float>(count: sequenceCount * model.config.vocabularySize, in: arena)
        hiddenStates = try ArenaBuffer<Float>(count: self.batchCapacity * model.config.embeddingLength, in: arena)
    }

    public var threadCount: Int { pool.threadCount }

    /// Sequence 0's tokens in the KV cache, in order; their count is its position.
    public var tokens: [Int32] { sequences[0].tokens }
    public var position: Int { sequences[0].tokens.count }

    /// The tokens `sequence` holds, in position order.
    public func tokens(of sequence: Int) -> [Int32] { sequences[sequence].tokens }

    /// The number of tokens `sequence` holds (its next position).
    public func length(of sequence: Int) -> Int { sequences[sequence].tokens.count }

    /// Sequence 0's last logits: see `logits(of:)`.
    public var logits: UnsafeBufferPointer<Float>? { logits(of: 0) }

    /// The logits of `sequence`'s last evaluated token, or nil after
    /// creation, reset or rewind, or when that token was decoded without logits.
    public func logits(of sequence: Int) -> UnsafeBufferPointer<Float>? {
        guard sequences[sequence].logitsValid else { return nil }
        let vocabulary = model.config.vocabularySize
        return UnsafeBufferPointer(start: sequenceLogits.pointer + sequence * vocabulary, count: vocabulary)
    }

    /// Evaluates `input` after what `sequence` holds, in batches of
    /// `batchCapacity` (making room first as the overflow policy says). With
    /// `allLogits`, every token's logits are written there (count × n_vocab).
    public func evaluate(_ input: UnsafeBufferPointer<Int32>, sequence: Int = 0,
                         allLogits: UnsafeMutablePointer<Float>? = nil) throws {
        try checkDecoder()
        guard !input.isEmpty else { throw SwiftletError.invalidArgument("no tokens to evaluate") }
        try checkSequence(sequence)
        // Room first: a count larger than the context must not make us read
        // the caller's ids at all (the array may be shorter than claimed).
        try checkRoom(for: input.count, sequence: sequence)
        try checkVocabulary(input)
        batchLogitRows.removeAll()
        let vocabulary = model.config.vocabularySize
        let logits = sequenceLogits.pointer + sequence * vocabulary
        var start = 0
        while start < input.count {
            let end = min(start + batchCapacity, input.count)
            try makeRoom(in: sequence, for: end - start)
            let batch = UnsafeBufferPointer(rebasing: input[start..<end])
            let request: ForwardOutput = allLogits.map { .everyTokenLogits($0 + start * vocabulary) }
                ?? .lastTokenLogits(logits)
            // A batch cancelled part way throws before the head writes any
            // logits, so the logits still belong to the last token evaluated.
            let run = SequenceRun(sequence: sequence, tokens: 0..<batch.count, startPosition: length(of: sequence))
            try model.transformer.forward(
                tokens: batch, layout: .sequences([run]), cache: cache, scratch: scratch, plan: plan,
                output: request, adapters: attachedAdapters.applied,
                observer: observer, isCancelled: { self.isCancelled })
            sequences[sequence].tokens.append(contentsOf: batch)
            if let allLogits {
                logits.update(from: allLogits + (end - 1) * vocabulary, count: vocabulary)
            }
            sequences[sequence].logitsValid = true
            start = end
        }
    }

    /// Throws `.contextFull` unless `count` more tokens can be evaluated in
    /// `sequence`: they fit after what it holds, or, with the shift policy,
    /// each batch of them fits after the kept tokens.
    public func checkRoom(for count: Int, sequence: Int = 0) throws {
        let length = length(of: sequence)
        switch overflow {
        case .error:
            guard count <= capacity - length else {
                throw SwiftletError(.contextFull, "\(count) tokens do not fit: the context holds \(length) of \(capacity)"
                                    + (sequence == 0 ? "" : " in sequence \(sequence)"))
            }
        case .shift(let keep, _):
            let batch = min(count, batchCapacity)
            guard batch <= capacity - min(keep, length) else {
                throw SwiftletError(.contextFull, "\(batch) tokens do not fit after the \(keep) kept ones in a context "
                                    + "of \(capacity)")
            }
        }
    }

    /// Whether a generation loop can evaluate one more token in `sequence`.
    func hasRoomForOneMore(in sequence: Int = 0) -> Bool {
        (try? checkRoom(for: 1, sequence: sequence)) != nil
    }

    /// Runs `body` as the context's one running call, the call `cancel()`
    /// aims at. Throws `.busy` if a call is running already: another thread's,
    /// or the one whose callback is calling back in.
    public func exclusive<Result>(_ body: () throws -> Result) throws -> Result {
        let idle = callState.load(ordering: .acquiring)
        // idle = n << 1; the call starting now is n + 1, running: ((n + 1) << 1) | 1 = idle + 3.
        guard idle & 1 == 0,
              callState.compareExchange(expected: idle, desired: idle + 3, ordering: .acquiringAndReleasing).exchanged
        else { throw SwiftletError(.busy, "the context is in use by another call") }
        defer { callState.store(idle + 2, ordering: .releasing) }
        return try body()
    }

    /// True once `cancel()` was aimed at the call running now.
    public var isCancelled: Bool {
        let state = callState.load(ordering: .relaxed)
        return state & 1 == 1 && cancelledCall.load(ordering: .relaxed) == state >> 1
    }

    /// Throws `.cancelled` if the running call was cancelled: the check
    /// generation loops make between tokens.
    public func checkCancellation() throws {
        if isCancelled { throw SwiftletError(.cancelled, "evaluation was cancelled") }
    }

    /// Keeps the first `newPosition` tokens of `sequence` and forgets the
    /// rest. When a sliding-window layer's ring no longer holds the positions
    /// those tokens attend to (the rewind reaches further back than the batch
    /// size), the kept tokens are evaluated again from position 0; cancelled
    /// part way, the sequence keeps the tokens evaluated so far.
    public func rewind(to newPosition: Int, sequence: Int = 0) throws {
        try checkSequence(sequence)
        let length = length(of: sequence)
        guard newPosition >= 0, newPosition <= length else {
            throw SwiftletError.invalidArgument("cannot rewind to \(newPosition): the position is \(length)")
        }
        guard newPosition < length else { return }
        sequences[sequence].logitsValid = false
        if cache.canResume(sequence: sequence, at: newPosition) {
            sequences[sequence].tokens.removeSubrange(newPosition...)
            return
        }
        try evaluateAgain(Array(sequences[sequence].tokens[..<newPosition]), in: sequence)
    }

    /// Empties `sequence` and evaluates `tokens` in it from position 0
    /// (where the cache cannot be rearranged in place); its logits stay invalid.
    func evaluateAgain(_ tokens: [Int32], in sequence: Int) throws {
        clear(sequence: sequence)
        try tokens.withUnsafeBufferPointer { kept in
            if !kept.isEmpty { try evaluate(kept, sequence: sequence) }
        }
        sequences[sequence].logitsValid = false
    }

    /// Keeps the longest prefix of `tokens` sequence 0 already holds (the
    /// earlier turns of a chat), rewinding past anything after it, and returns
    /// the tokens still to evaluate. At least one is always left, so the
    /// evaluation that follows produces fresh logits.
    /// Throws `.contextFull`, changing nothing, if `tokens` do not fit at all.
    public func rewindToSharedPrefix(of tokens: [Int32]) throws -> [Int32] {
        if case .error = overflow, tokens.count > capacity {
            throw SwiftletError(.contextFull, "\(tokens.count) tokens do not fit in the context's \(capacity)")
        }
        var shared = 0
        while shared < min(position, tokens.count - 1), self.tokens[shared] == tokens[shared] { shared += 1 }
        // A prefix the sliding-window rings no longer serve would be evaluated
        // again by the rewind, then the rest: evaluate everything in one go instead.
        if !cache.canResume(at: shared) { shared = 0 }
        try rewind(to: shared)
        return Array(tokens[shared...])
    }

    /// The tokens this context feeds one sequence's embedding: every one in
    /// the vocabulary, at least one.
    func checkTokens(_ input: [Int32], sequence: Int) throws {
        guard !input.isEmpty else { throw SwiftletError.invalidArgument("text \(sequence) has no tokens") }
        try checkVocabulary(input, where: " of sequence \(sequence)")
    }

    /// Throws `.unsupported` for an encoder, which has no logits.
    public func checkDecoder() throws {
        guard model.config.isCausal else {
            throw SwiftletError.unsupported("\(model.architecture) is an encoder: it has no logits to evaluate or "
                                            + "generate with; embed texts instead")
        }
    }

    /// Throws `.invalidArgument` unless `sequence` is one of this context's.
    public func checkSequence(_ sequence: Int, _ name: String = "sequence id") throws {
        guard sequence >= 0, sequence < sequenceCount else {
            throw SwiftletError.invalidArgument(
                "\(name) \(sequence) is not a sequence of this context (0 to \(sequenceCount - 1): n_seq_max is \(sequenceCount))")
        }
    }

    /// Throws `.invalidArgument` naming the first id outside the vocabulary
    /// (`place` says where the ids come from, after their index).
    func checkVocabulary<Tokens: Collection<Int32>>(_ input: Tokens, where place: String = "") throws {
        let vocabulary = model.config.vocabularySize
        for (i, token) in input.enumerated() where token < 0 || Int(token) >= vocabulary {
            throw SwiftletError.invalidArgument(
                "token id \(token) at index \(i)\(place) is outside the vocabulary (0..<\(vocabulary))")
        }
    }

    /// Empties every sequence.
    public func reset() {
        for s in 0..<sequenceCount { clear(sequence: s) }
        batchLogitRows.removeAll()
    }

    /// Empties `sequence`.
    func clear(sequence: Int) {
        sequences[sequence].tokens.removeAll(keepingCapacity: true)
        sequences[sequence].logitsValid = false
        cache.reset(sequence: sequence)
    }

    /// Asks the call running now to stop; does nothing while no call runs
    /// (see swiftlet_context_cancel).
    public func cancel() {
        let state = callState.load(ordering: .acquiring)
        if state & 1 == 1 { cancelledCall.store(state >> 1, ordering: .relaxed) }
    }
}

/// Online processors, as the OS reports them.
public func processorCount() -> Int {
    let count = Int(sysconf(Int32(_SC_NPROCESSORS_ONLN)))
    return max(1, count)
}
