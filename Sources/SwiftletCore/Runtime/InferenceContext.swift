import Glibc
import Synchronization

/// One conversation's state over a shared model: KV cache, scratch buffers,
/// worker threads, the tokens evaluated so far and the last logits. Used by
/// one thread at a time (`exclusive` detects a second caller); `cancel()` is
/// the exception and may come from any thread.
public final class InferenceContext: @unchecked Sendable {
    public let model: LanguageModel
    public let capacity: Int
    public let batchCapacity: Int
    /// The tokens in the KV cache, in order; `tokens.count` is the position.
    public private(set) var tokens: [Int32] = []
    public var position: Int { tokens.count }

    private let arena: Arena
    private let pool: WorkerPool
    let cache: KVCache
    let scratch: ForwardScratch
    let plan: ExecutionPlan
    private let logitsBuffer: ArenaBuffer<Float>
    /// A batch's final hidden states, for embeddings (batchCapacity × n_embd).
    let hiddenStates: ArenaBuffer<Float>
    private var logitsValid = false
    /// The running call, if any: (call number << 1) | 1 while a call runs,
    /// (number of the last call << 1) while idle. Numbers start at 1.
    private let callState = Atomic<UInt64>(0)
    /// The number of the call a cancel request was aimed at; 0 for none. A
    /// request names its call, so it can never leak into a later one.
    private let cancelledCall = Atomic<UInt64>(0)

    public static let defaultCapacityLimit = 4096
    public static let defaultBatchCapacity = 256

    /// `capacity` 0 = the model's trained length, at most 4096; `threads` 0 =
    /// one per core; `batchCapacity` 0 = 256 for a decoder, `capacity` for an
    /// encoder (whose sequences are evaluated whole, in one pass each).
    public init(model: LanguageModel, capacity: Int, threads: Int, batchCapacity: Int) throws {
        guard capacity >= 0, threads >= 0, batchCapacity >= 0 else {
            throw SwiftletError.invalidArgument("n_ctx, n_threads and n_batch must not be negative")
        }
        guard threads <= 1024 else { throw SwiftletError.invalidArgument("n_threads \(threads) is too large") }
        let chosenCapacity = capacity == 0 ? min(model.config.contextLength, Self.defaultCapacityLimit) : capacity
        guard chosenCapacity <= TransformerConfig.maximumDimension else {
            throw SwiftletError.invalidArgument("n_ctx \(capacity) is too large")
        }
        // Learned positions exist only for the positions the model was trained on.
        guard model.config.positions != .learned || chosenCapacity <= model.config.contextLength else {
            throw SwiftletError.invalidArgument(
                "n_ctx \(capacity) is more than the \(model.config.contextLength) positions this model has embeddings for")
        }
        self.model = model
        self.capacity = chosenCapacity
        let defaultBatch = model.config.isCausal ? Self.defaultBatchCapacity : chosenCapacity
        self.batchCapacity = min(batchCapacity == 0 ? defaultBatch : batchCapacity, chosenCapacity)
        arena = try Arena()
        pool = try WorkerPool(threadCount: threads == 0 ? processorCount() : threads)
        cache = try KVCache(config: model.config, capacity: chosenCapacity, batchCapacity: self.batchCapacity,
                            arena: arena)
        scratch = try ForwardScratch(config: model.config, batchCapacity: self.batchCapacity, arena: arena)
        plan = try ExecutionPlan(config: model.config, formats: model.transformer.weights.projectionFormats,
                                 batchCapacity: self.batchCapacity, contextCapacity: chosenCapacity,
                                 pool: pool, arena: arena)
        logitsBuffer = try ArenaBuffer<Float>(count: model.config.vocabularySize, in: arena)
        hiddenStates = try ArenaBuffer<Float>(count: self.batchCapacity * model.config.embeddingLength, in: arena)
    }

    public var threadCount: Int { pool.threadCount }

    /// The last evaluated token's logits, or nil after creation, reset or rewind.
    public var logits: UnsafeBufferPointer<Float>? {
        logitsValid ? UnsafeBufferPointer(start: logitsBuffer.pointer, count: logitsBuffer.count) : nil
    }

    /// Evaluates `input` after the current position in batches of `batchCapacity`.
    /// With `allLogits`, every token's logits are written there (count × n_vocab).
    public func evaluate(_ input: UnsafeBufferPointer<Int32>, allLogits: UnsafeMutablePointer<Float>? = nil) throws {
        guard model.config.isCausal else {
            throw SwiftletError.unsupported("\(model.architecture) is an encoder: it has no logits to evaluate or "
                                            + "generate with; embed texts instead")
        }
        guard !input.isEmpty else { throw SwiftletError.invalidArgument("no tokens to evaluate") }
        // Room first: a count larger than the context must not make us read
        // the caller's ids at all (the array may be shorter than claimed).
        try checkRoom(for: input.count)
        try checkVocabulary(input)
        let vocabulary = model.config.vocabularySize
        var start = 0
        while start < input.count {
            let end = min(start + batchCapacity, input.count)
            let batch = UnsafeBufferPointer(rebasing: input[start..<end])
            let request: ForwardOutput = allLogits.map { .everyTokenLogits($0 + start * vocabulary) }
                ?? .lastTokenLogits(logitsBuffer.pointer)
            // A batch cancelled part way throws before the head writes any
            // logits, so the logits still belong to the last token evaluated.
            try model.transformer.forward(
                tokens: batch, layout: .continuing(startPosition: position), cache: cache, scratch: scratch, plan: plan,
                output: request, isCancelled: { self.isCancelled })
            tokens.append(contentsOf: batch)
            if let allLogits {
                logitsBuffer.pointer.update(from: allLogits + (end - 1) * vocabulary, count: vocabulary)
            }
            logitsValid = true
            start = end
        }
    }

    /// Throws `.contextFull` unless `count` more tokens fit after the position.
    public func checkRoom(for count: Int) throws {
        guard count <= capacity - position else {
            throw SwiftletError(.contextFull, "\(count) tokens do not fit: the context holds \(position) of \(capacity)")
        }
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

    /// Keeps the first `newPosition` tokens and forgets the rest. When a
    /// sliding-window layer's ring no longer holds the positions those tokens
    /// attend to (the rewind reaches further back than the batch size), the
    /// kept tokens are evaluated again from position 0; cancelled part way,
    /// the context keeps the tokens evaluated so far.
    public func rewind(to newPosition: Int) throws {
        guard newPosition >= 0, newPosition <= position else {
            throw SwiftletError.invalidArgument("cannot rewind to \(newPosition): the position is \(position)")
        }
        guard newPosition < position else { return }
        logitsValid = false
        if cache.canResume(at: newPosition) {
            tokens.removeSubrange(newPosition...)
            return
        }
        let kept = Array(tokens[..<newPosition])
        reset()
        try kept.withUnsafeBufferPointer { kept in
            if !kept.isEmpty { try evaluate(kept) }
        }
        logitsValid = false
    }

    /// Keeps the longest prefix of `tokens` the context already holds (the
    /// earlier turns of a chat), rewinding past anything after it, and returns
    /// the tokens still to evaluate. At least one is always left, so the
    /// evaluation that follows produces fresh logits.
    /// Throws `.contextFull`, changing nothing, if `tokens` do not fit at all.
    public func rewindToSharedPrefix(of tokens: [Int32]) throws -> [Int32] {
        guard tokens.count <= capacity else {
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

    /// Throws `.invalidArgument` naming the first id outside the vocabulary
    /// (`place` says where the ids come from, after their index).
    private func checkVocabulary<Tokens: Collection<Int32>>(_ input: Tokens, where place: String = "") throws {
        let vocabulary = model.config.vocabularySize
        for (i, token) in input.enumerated() where token < 0 || Int(token) >= vocabulary {
            throw SwiftletError.invalidArgument(
                "token id \(token) at index \(i)\(place) is outside the vocabulary (0..<\(vocabulary))")
        }
    }

    public func reset() {
        tokens.removeAll(keepingCapacity: true)
        cache.reset()
        logitsValid = false
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
