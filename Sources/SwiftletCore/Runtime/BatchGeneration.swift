/// Generates continuations of several prompts together: prompt i in
/// sequence i (the context is reset first), every step one decode with the
/// next token of each sequence still going, so the weights are read once per
/// step for all of them. Each sequence samples with its own `Sampler` made
/// from `settings` (same seed for all), so each result is what its prompt
/// alone would generate (up to near ties of the batched sums).
/// `deliver(sequence, text, token)` as `generate`'s, per sequence; false
/// stops that sequence. Throws before generating anything for bad input (more
/// prompts than sequences, an empty prompt, a prompt that does not fit);
/// a cancel stops every sequence still going (outcomes say `.cancelled`).
public func generateBatch(in context: InferenceContext, prompts: [[Int32]], maxTokens: Int, settings: SamplerSettings,
                          deliver: (_ sequence: Int, UnsafeBufferPointer<UInt8>, Int32) -> Bool) throws
    -> [GenerationOutcome] {
    guard maxTokens >= 0 else { throw SwiftletError.invalidArgument("max_tokens must be ≥ 0, not \(maxTokens)") }
    guard !prompts.isEmpty else { throw SwiftletError.invalidArgument("no prompts") }
    guard prompts.count <= context.sequenceCount else {
        throw SwiftletError.invalidArgument(
            "\(prompts.count) prompts need as many sequences; the context has n_seq_max \(context.sequenceCount)")
    }
    for (i, prompt) in prompts.enumerated() where prompt.isEmpty {
        throw SwiftletError.invalidArgument("prompt \(i) has no tokens")
    }
    let samplers = try prompts.map { _ in try Sampler(settings: settings) }
    let tokenizer = context.model.tokenizer
    var outcomes = prompts.map { GenerationOutcome(promptTokenCount: $0.count) }
    var decoders = prompts.map { _ in UTF8StreamDecoder() }
    var going = Array(prompts.indices)

    func stop(_ s: Int, _ reason: StopReason, _ error: SwiftletError? = nil) {
        let rest = decoders[s].finish()
        if !rest.isEmpty { _ = rest.withUnsafeBufferPointer { deliver(s, $0, -1) } }
        outcomes[s].stopReason = reason
        outcomes[s].error = error
    }
    /// One decode of `tokens` (`sequences[i]` each); false when cancelled (every sequence going stopped).
    func decode(_ tokens: [Int32], _ sequences: [Int32]) throws -> Bool {
        do {
            try tokens.withUnsafeBufferPointer { tokens in
                try sequences.withUnsafeBufferPointer { sequences in
                    try context.decode(TokenBatch(tokens: tokens, sequences: sequences))
                }
            }
            return true
        } catch let error as SwiftletError where error.kind == .cancelled {
            for s in going { stop(s, .cancelled, error) }
            going.removeAll()
            return false
        }
    }

    context.reset()
    let promptSequences = prompts.enumerated().flatMap { s, prompt in repeatElement(Int32(s), count: prompt.count) }
    guard try decode(prompts.flatMap { $0 }, promptSequences) else { return outcomes }
    while !going.isEmpty {
        var tokens: [Int32] = [], sequences: [Int32] = [], stopping: [Int] = []
        for s in going {
            guard outcomes[s].generatedTokenCount < maxTokens, let logits = context.logits(of: s) else {
                stop(s, .maxTokens)
                continue
            }
            let token = try samplers[s].sample(logits: logits, recentTokens: context.sequences[s].tokens[...],
                                                tokenizer: tokenizer)
            if tokenizer.isEndOfGeneration(token) {
                stop(s, .endOfGeneration)
                continue
            }
            guard context.hasRoomForOneMore(in: s) else {
                stop(s, .contextFull, SwiftletError(.contextFull, "sequence \(s) is full (\(context.capacity) tokens)"))
                continue
            }
            let text = decoders[s].push(tokenizer.pieceBytes(token) ?? [])
            if !text.withUnsafeBufferPointer({ deliver(s, $0, token) }) { stopping.append(s) }
            outcomes[s].generatedTokenCount += 1
            tokens.append(token)
            sequences.append(Int32(s))
        }
        going = sequences.map(Int.init)
        guard !tokens.isEmpty else { break }
        if context.isCancelled {
            let error = SwiftletError(.cancelled, "evaluation was cancelled")
            for s in going { stop(s, .cancelled, error) }
            break
        }
        // Every delivered token is evaluated, as in `generate`.
        guard try decode(tokens, sequences) else { break }
        for s in stopping { stop(s, .callback) }
        going.removeAll { stopping.contains($0) }
    }
    return outcomes
}
