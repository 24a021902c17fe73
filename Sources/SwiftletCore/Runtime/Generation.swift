/// Why a generation ended; raw values are the C API's swiftlet_stop_reason.
public enum StopReason: Int32, Sendable {
    case endOfGeneration = 0, maxTokens = 1, callback = 2, cancelled = 3, contextFull = 4
}

public struct GenerationOutcome: Sendable {
    public var promptTokenCount = 0
    public var generatedTokenCount = 0
    public var stopReason = StopReason.maxTokens
    /// Set for the stop reasons that are errors (cancelled, context full).
    public var error: SwiftletError?
}

/// Evaluates `prompt` after what the context holds, then samples, delivers
/// and evaluates up to `maxTokens` tokens. `deliver(text, token)` receives
/// only complete UTF-8 characters and returns false to stop. Every delivered
/// token is evaluated, so the context ends holding prompt + delivered tokens.
/// If generation stops inside a character, its held-back bytes arrive as
/// U+FFFD in one last call with token -1.
/// Errors other than cancel and context-full are thrown (nothing was generated then).
public func generate(in context: InferenceContext, prompt: [Int32], maxTokens: Int, sampler: Sampler,
                     deliver: (UnsafeBufferPointer<UInt8>, Int32) -> Bool) throws -> GenerationOutcome {
    guard maxTokens >= 0 else { throw SwiftletError.invalidArgument("max_tokens must be ≥ 0, not \(maxTokens)") }
    var outcome = GenerationOutcome()
    var decoder = UTF8StreamDecoder()
    let tokenizer = context.model.tokenizer

    func stop(_ reason: StopReason, _ error: SwiftletError? = nil) -> GenerationOutcome {
        let rest = decoder.finish()
        if !rest.isEmpty { _ = rest.withUnsafeBufferPointer { deliver($0, -1) } }
        outcome.stopReason = reason
        outcome.error = error
        return outcome
    }

    do {
        if prompt.isEmpty {
            guard context.logits != nil else {
                throw SwiftletError.invalidArgument("the prompt is empty and the context has nothing to continue from")
            }
        } else {
            try prompt.withUnsafeBufferPointer { try context.evaluate($0) }
        }
    } catch let error as SwiftletError where error.kind == .cancelled {
        return stop(.cancelled, error)
    }
    outcome.promptTokenCount = prompt.count

    while outcome.generatedTokenCount < maxTokens {
        guard let logits = context.logits else { break }
        let token = try sampler.sample(logits: logits, recentTokens: context.tokens[...], tokenizer: tokenizer)
        if tokenizer.isEndOfGeneration(token) { return stop(.endOfGeneration) }
        if !context.hasRoomForOneMore() {
            return stop(.contextFull, SwiftletError(.contextFull, "the context is full (\(context.capacity) tokens)"))
        }
        let text = decoder.push(tokenizer.pieceBytes(token) ?? [])
        let keepGoing = text.withUnsafeBufferPointer { deliver($0, token) }
        outcome.generatedTokenCount += 1
        do {
            try context.checkCancellation()
            try [token].withUnsafeBufferPointer { try context.evaluate($0) }
        } catch let error as SwiftletError where error.kind == .cancelled {
            return stop(.cancelled, error)
        }
        if !keepGoing { return stop(.callback) }
    }
    return stop(.maxTokens)
}
