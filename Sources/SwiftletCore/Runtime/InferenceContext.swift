import Glibc
import Synchronization

/// One conversation's state over a shared model: KV cache, scratch buffers,
/// worker threads, the tokens evaluated so far and the last logits. Used by
/// one thread at a time; `cancel()` is the exception and may come from any thread.
public final class InferenceContext: @unchecked Sendable {
    public let model: LanguageModel
    public let capacity: Int
    public let batchCapacity: Int
    /// The tokens in the KV cache, in order; `tokens.count` is the position.
    public private(set) var tokens: [Int32] = []
    public var position: Int { tokens.count }

    private let arena: Arena
    private let pool: WorkerPool
    private let cache: KVCache
    private let scratch: ForwardScratch
    private let logitsBuffer: ArenaBuffer<Float>
    private var logitsValid = false
    private let cancelRequested = Atomic<Bool>(false)

    public static let defaultCapacityLimit = 4096
    public static let defaultBatchCapacity = 256

    /// `capacity` 0 = the model's trained length, at most 4096; `threads` 0 = one per core.
    public init(model: LanguageModel, capacity: Int, threads: Int, batchCapacity: Int) throws {
        guard capacity >= 0, threads >= 0, batchCapacity >= 0 else {
            throw SwiftletError.invalidArgument("n_ctx, n_threads and n_batch must not be negative")
        }
        guard threads <= 1024 else { throw SwiftletError.invalidArgument("n_threads \(threads) is too large") }
        let chosenCapacity = capacity == 0 ? min(model.config.contextLength, Self.defaultCapacityLimit) : capacity
        guard chosenCapacity <= LlamaConfig.maximumDimension else {
            throw SwiftletError.invalidArgument("n_ctx \(capacity) is too large")
        }
        self.model = model
        self.capacity = chosenCapacity
        self.batchCapacity = min(batchCapacity == 0 ? Self.defaultBatchCapacity : batchCapacity, chosenCapacity)
        arena = try Arena()
        pool = try WorkerPool(threadCount: threads == 0 ? processorCount() : threads)
        cache = try KVCache(config: model.config, capacity: chosenCapacity, arena: arena)
        scratch = try ForwardScratch(config: model.config, batchCapacity: self.batchCapacity,
                                     contextCapacity: chosenCapacity, workers: pool.threadCount, arena: arena)
        logitsBuffer = try ArenaBuffer<Float>(count: model.config.vocabularySize, in: arena)
    }

    public var threadCount: Int { pool.threadCount }

    /// The last evaluated token's logits, or nil after creation, reset or rewind.
    public var logits: UnsafeBufferPointer<Float>? {
        logitsValid ? UnsafeBufferPointer(start: logitsBuffer.pointer, count: logitsBuffer.count) : nil
    }

    /// Evaluates `input` after the current position in batches of `batchCapacity`.
    /// With `allLogits`, every token's logits are written there (count × n_vocab).
    public func evaluate(_ input: UnsafeBufferPointer<Int32>, allLogits: UnsafeMutablePointer<Float>? = nil) throws {
        guard !input.isEmpty else { throw SwiftletError.invalidArgument("no tokens to evaluate") }
        let vocabulary = model.config.vocabularySize
        for (i, token) in input.enumerated() where token < 0 || Int(token) >= vocabulary {
            throw SwiftletError.invalidArgument("token id \(token) at index \(i) is outside the vocabulary (0..<\(vocabulary))")
        }
        guard input.count <= capacity - position else {
            throw SwiftletError(.contextFull,
                "\(input.count) tokens do not fit: the context holds \(position) of \(capacity)")
        }
        var start = 0
        while start < input.count {
            let end = min(start + batchCapacity, input.count)
            let batch = UnsafeBufferPointer(rebasing: input[start..<end])
            let request: LogitsRequest = allLogits.map { .everyToken($0 + start * vocabulary) }
                ?? .lastToken(logitsBuffer.pointer)
            logitsValid = false
            try model.transformer.forward(
                tokens: batch, startPosition: position, cache: cache, scratch: scratch, pool: pool,
                logits: request, isCancelled: { self.consumeCancelRequest() })
            tokens.append(contentsOf: batch)
            if let allLogits {
                logitsBuffer.pointer.update(from: allLogits + (end - 1) * vocabulary, count: vocabulary)
            }
            logitsValid = true
            start = end
        }
    }

    /// Throws `.cancelled` (and clears the request) if a cancel is pending: the
    /// check generation loops make between tokens.
    public func checkCancellation() throws {
        if consumeCancelRequest() {
            throw SwiftletError(.cancelled, "evaluation was cancelled")
        }
    }

    /// A request is cleared only by the call it stops, so none is lost to a race.
    private func consumeCancelRequest() -> Bool { cancelRequested.exchange(false, ordering: .relaxed) }

    /// Keeps the first `newPosition` tokens and forgets the rest.
    public func rewind(to newPosition: Int) throws {
        guard newPosition >= 0, newPosition <= position else {
            throw SwiftletError.invalidArgument("cannot rewind to \(newPosition): the position is \(position)")
        }
        if newPosition < position {
            tokens.removeSubrange(newPosition...)
            logitsValid = false
        }
    }

    /// Keeps the longest prefix of `tokens` the context already holds (the
    /// earlier turns of a chat), rewinding past anything after it, and returns
    /// the tokens still to evaluate. At least one is always left, so the
    /// evaluation that follows produces fresh logits.
    public func rewindToSharedPrefix(of tokens: [Int32]) throws -> [Int32] {
        var shared = 0
        while shared < min(position, tokens.count - 1), self.tokens[shared] == tokens[shared] { shared += 1 }
        try rewind(to: shared)
        return Array(tokens[shared...])
    }

    public func reset() {
        tokens.removeAll(keepingCapacity: true)
        logitsValid = false
    }

    /// Asks the running evaluation to stop; see swiftlet_context_cancel.
    public func cancel() { cancelRequested.store(true, ordering: .relaxed) }
}

/// Online processors, as the OS reports them.
public func processorCount() -> Int {
    let count = Int(sysconf(Int32(_SC_NPROCESSORS_ONLN)))
    return max(1, count)
}
