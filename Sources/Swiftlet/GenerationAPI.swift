import CSwiftlet
import SwiftletCore

@c @implementation
public func swiftlet_generate_params_init(_ params: UnsafeMutablePointer<swiftlet_generate_params>?) {
    params?.pointee = swiftlet_generate_params(
        struct_size: UInt32(MemoryLayout<swiftlet_generate_params>.size), max_tokens: 256,
        tokenize_flags: SWIFTLET_TOKENIZE_MODEL_BOS, reserved: 0, sampling: nil)
}

@c @implementation
public func swiftlet_chat_params_init(_ params: UnsafeMutablePointer<swiftlet_chat_params>?) {
    params?.pointee = swiftlet_chat_params(
        struct_size: UInt32(MemoryLayout<swiftlet_chat_params>.size), add_generation_prompt: 1, chat_template: nil)
}

@c @implementation
public func swiftlet_generate(_ context: OpaquePointer?, _ prompt: UnsafePointer<CChar>?,
                              _ params: UnsafePointer<swiftlet_generate_params>?,
                              _ callback: swiftlet_token_callback?, _ user_data: UnsafeMutableRawPointer?,
                              _ result: UnsafeMutablePointer<swiftlet_generate_result>?) -> swiftlet_status {
    withStatus {
        let handle = try contextHandle(context)
        let prompt = try required(prompt, "prompt")
        let p = try generateParams(params)
        try handle.exclusive { c in
            let tokens = try tokenize(c.model, bytesOf(prompt), flags: p.tokenizeFlags, limit: promptLimit(c))
            try run(handle, prompt: tokens, p, callback, user_data, result)
        }
    }
}

@c @implementation
public func swiftlet_chat_format(_ model: OpaquePointer?, _ messages: UnsafePointer<swiftlet_chat_message>?,
                                 _ n_messages: Int, _ params: UnsafePointer<swiftlet_chat_params>?,
                                 _ buf: UnsafeMutablePointer<CChar>?, _ buf_size: Int,
                                 _ out_len: UnsafeMutablePointer<Int>?) -> swiftlet_status {
    withStatus {
        let m = try modelOf(model)
        let p = try chatParams(params)
        let text = try m.renderChat(chatMessages(messages, n_messages), addGenerationPrompt: p.add_generation_prompt != 0,
                                    templateSource: p.chat_template.map(stringOf))
        try copyOut(text.utf8, to: buf, size: buf_size, length: out_len, terminate: true)
    }
}

@c @implementation
public func swiftlet_chat(_ context: OpaquePointer?, _ messages: UnsafePointer<swiftlet_chat_message>?,
                          _ n_messages: Int, _ chat_params: UnsafePointer<swiftlet_chat_params>?,
                          _ params: UnsafePointer<swiftlet_generate_params>?,
                          _ callback: swiftlet_token_callback?, _ user_data: UnsafeMutableRawPointer?,
                          _ result: UnsafeMutablePointer<swiftlet_generate_result>?) -> swiftlet_status {
    withStatus {
        let handle = try contextHandle(context)
        let chat = try chatParams(chat_params)
        let p = try generateParams(params)
        let conversation = try chatMessages(messages, n_messages)
        try handle.exclusive { c in
            // Rendering and the size check come before the rewind, so a
            // conversation that cannot run leaves the context as it was.
            let tokens = try c.model.chatTokens(conversation, templateSource: chat.chat_template.map(stringOf),
                                                limit: c.overflow == .error ? c.capacity : Int.max)
            try run(handle, prompt: c.rewindToSharedPrefix(of: tokens), p, callback, user_data, result)
        }
    }
}

/// The caller's generate params (defaults for NULL), sampling included.
private func generateParams(_ params: UnsafePointer<swiftlet_generate_params>?) throws -> GenerateSettings {
    var defaults = swiftlet_generate_params()
    swiftlet_generate_params_init(&defaults)
    let p = try readParams(params, defaults: defaults, "params")
    guard p.max_tokens >= 0 else { throw SwiftletError.invalidArgument("max_tokens must be ≥ 0, not \(p.max_tokens)") }
    let sampling = try samplerParams(p.sampling, "params->sampling")
    let settings = samplerSettings(sampling)
    return GenerateSettings(maxTokens: Int(p.max_tokens), tokenizeFlags: p.tokenize_flags,
                            sampler: try Sampler(settings: settings), samplerSettings: settings)
}

private struct GenerateSettings {
    var maxTokens: Int
    var tokenizeFlags: UInt32
    var sampler: Sampler
    var samplerSettings: SamplerSettings
}

/// The most prompt tokens sequence 0 can take: what is left of it, or (when
/// the context shifts) any number.
private func promptLimit(_ c: InferenceContext) -> Int {
    c.overflow == .error ? c.capacity - c.position : Int.max
}

@c @implementation
public func swiftlet_generate_batch(_ context: OpaquePointer?, _ prompts: UnsafePointer<UnsafePointer<CChar>?>?,
                                    _ n_prompts: Int, _ params: UnsafePointer<swiftlet_generate_params>?,
                                    _ callback: swiftlet_batch_token_callback?, _ user_data: UnsafeMutableRawPointer?,
                                    _ results: UnsafeMutablePointer<swiftlet_generate_result>?) -> swiftlet_status {
    withStatus {
        let handle = try contextHandle(context)
        let prompts = try required(prompts, "prompts")
        let p = try generateParams(params)
        let resultStride = try results.map { results in
            let size = Int(UnsafeRawPointer(results).load(as: UInt32.self))
            guard size >= MemoryLayout<UInt32>.size else {
                throw SwiftletError.invalidArgument("results[0].struct_size is \(size); set it to sizeof(swiftlet_generate_result)")
            }
            return size
        }
        try handle.exclusive { c in
            guard n_prompts > 0, n_prompts <= c.sequenceCount else {
                throw SwiftletError.invalidArgument("n_prompts \(UInt(bitPattern: n_prompts)) must be in 1...\(c.sequenceCount) "
                                                    + "(the context's n_seq_max)")
            }
            let tokens = try (0..<n_prompts).map { i in
                try tokenize(c.model, bytesOf(try required(prompts[i], "prompts[\(i)]")), flags: p.tokenizeFlags,
                             limit: c.overflow == .error ? c.capacity : Int.max)
            }
            let outcomes = try generateBatch(in: c, prompts: tokens, maxTokens: p.maxTokens,
                                             settings: p.samplerSettings) { sequence, text, token in
                guard let callback, !handle.isFreed else { return true }
                return callback(Int32(sequence), piecePointer(text), text.count, token, user_data) != 0
            }
            if let results, let resultStride {
                for (i, outcome) in outcomes.enumerated() {
                    let element = (UnsafeMutableRawPointer(results) + i * resultStride)
                        .assumingMemoryBound(to: swiftlet_generate_result.self)
                    try writeInfo(resultValue(outcome), to: element, "results[\(i)]")
                }
            }
            if let error = outcomes.lazy.compactMap(\.error).first { throw error }
        }
    }
}

/// A piece's bytes as the token callbacks' `const char *` (never NULL, also when empty).
private func piecePointer(_ text: UnsafeBufferPointer<UInt8>) -> UnsafePointer<CChar> {
    text.baseAddress.map { UnsafeRawPointer($0).assumingMemoryBound(to: CChar.self) } ?? staticString("")
}

private func resultValue(_ outcome: GenerationOutcome) -> swiftlet_generate_result {
    swiftlet_generate_result(
        struct_size: UInt32(MemoryLayout<swiftlet_generate_result>.size),
        n_prompt_tokens: Int32(outcome.promptTokenCount), n_generated_tokens: Int32(outcome.generatedTokenCount),
        stop_reason: outcome.stopReason.rawValue)
}

private func chatParams(_ params: UnsafePointer<swiftlet_chat_params>?) throws -> swiftlet_chat_params {
    var defaults = swiftlet_chat_params()
    swiftlet_chat_params_init(&defaults)
    return try readParams(params, defaults: defaults, "chat params")
}

/// The caller's messages. Each element begins with struct_size, the array's
/// stride: a caller compiled against a longer struct still reads correctly.
private func chatMessages(_ messages: UnsafePointer<swiftlet_chat_message>?, _ count: Int) throws -> [ChatMessage] {
    guard count != 0 else { return [] }
    let messages = try required(messages, "messages")
    guard count > 0, count <= maximumMessages else {
        throw SwiftletError.invalidArgument("n_messages \(UInt(bitPattern: count)) is more than \(maximumMessages)")
    }
    let stride = Int(UnsafeRawPointer(messages).load(as: UInt32.self))
    let known = MemoryLayout<swiftlet_chat_message>.size
    guard stride >= known else {
        throw SwiftletError.invalidArgument("messages[0].struct_size is \(stride); set it to sizeof(swiftlet_chat_message)")
    }
    var list: [ChatMessage] = []
    for i in 0..<count {
        let element = UnsafeRawPointer(messages) + i * stride
        let size = Int(element.load(as: UInt32.self))
        guard size == stride else {
            throw SwiftletError.invalidArgument("messages[\(i)].struct_size is \(size), not \(stride) as messages[0]")
        }
        let message = element.loadUnaligned(as: swiftlet_chat_message.self)
        let role = try required(message.role, "messages[\(i)].role")
        let content = try required(message.content, "messages[\(i)].content")
        list.append(ChatMessage(role: stringOf(role), content: stringOf(content)))
    }
    return list
}

/// More messages than any conversation that fits a context; bounds the walk.
private let maximumMessages = 1 << 20

/// The generation loop shared by swiftlet_generate and swiftlet_chat, run
/// inside the handle's exclusive call. Once the host frees the context from
/// its callback, the callback is not called again.
private func run(_ handle: ContextHandle, prompt: [Int32], _ settings: GenerateSettings,
                 _ callback: swiftlet_token_callback?, _ userData: UnsafeMutableRawPointer?,
                 _ result: UnsafeMutablePointer<swiftlet_generate_result>?) throws {
    let outcome = try generate(in: handle.context, prompt: prompt, maxTokens: settings.maxTokens,
                               sampler: settings.sampler) { text, token in
        guard let callback, !handle.isFreed else { return true }
        return callback(piecePointer(text), text.count, token, userData) != 0
    }
    if let result { try writeInfo(resultValue(outcome), to: result, "result") }
    if let error = outcome.error { throw error }
}
