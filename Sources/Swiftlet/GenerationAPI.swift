import CSwiftlet
import SwiftletCore

@c @implementation
public func swiftlet_generate_params_init(_ params: UnsafeMutablePointer<swiftlet_generate_params>?) {
    guard let params else { return }
    var sampling = swiftlet_sampler_params()
    swiftlet_sampler_params_init(&sampling)
    params.pointee = swiftlet_generate_params(
        struct_size: UInt32(MemoryLayout<swiftlet_generate_params>.size), max_tokens: 256,
        tokenize_flags: SWIFTLET_TOKENIZE_MODEL_BOS, sampling: sampling)
}

@c @implementation
public func swiftlet_generate(_ context: OpaquePointer?, _ prompt: UnsafePointer<CChar>?,
                              _ params: UnsafePointer<swiftlet_generate_params>?,
                              _ callback: swiftlet_token_callback?, _ user_data: UnsafeMutableRawPointer?,
                              _ result: UnsafeMutablePointer<swiftlet_generate_result>?) -> swiftlet_status {
    withStatus {
        let c = try contextOf(context)
        let prompt = try required(prompt, "prompt")
        let p = try generateParams(params)
        let tokens = try tokenize(c.model, bytesOf(prompt), flags: p.tokenize_flags)
        try run(c, prompt: tokens, p, callback, user_data, result)
    }
}

@c @implementation
public func swiftlet_chat_format(_ model: OpaquePointer?, _ messages: UnsafePointer<swiftlet_chat_message>?,
                                 _ n_messages: Int, _ add_generation_prompt: Bool,
                                 _ buf: UnsafeMutablePointer<CChar>?, _ buf_size: Int,
                                 _ out_len: UnsafeMutablePointer<Int>?) -> swiftlet_status {
    withStatus {
        let m = try modelOf(model)
        let text = try renderChat(m, messages, n_messages, addGenerationPrompt: add_generation_prompt)
        try copyOut(text.utf8, to: buf, size: buf_size, length: out_len, terminate: true)
    }
}

@c @implementation
public func swiftlet_chat(_ context: OpaquePointer?, _ messages: UnsafePointer<swiftlet_chat_message>?,
                          _ n_messages: Int, _ params: UnsafePointer<swiftlet_generate_params>?,
                          _ callback: swiftlet_token_callback?, _ user_data: UnsafeMutableRawPointer?,
                          _ result: UnsafeMutablePointer<swiftlet_generate_result>?) -> swiftlet_status {
    withStatus {
        let c = try contextOf(context)
        let p = try generateParams(params)
        let text = try renderChat(c.model, messages, n_messages, addGenerationPrompt: true)
        let tokens = c.model.tokenizer.encode(Array(text.utf8), addBOS: c.model.tokenizer.addBOS, parseSpecial: true)
        try run(c, prompt: try c.rewindToSharedPrefix(of: tokens), p, callback, user_data, result)
    }
}

private func generateParams(_ params: UnsafePointer<swiftlet_generate_params>?) throws -> swiftlet_generate_params {
    var defaults = swiftlet_generate_params()
    swiftlet_generate_params_init(&defaults)
    let p = try readParams(params, defaults: defaults, "params")
    guard p.max_tokens >= 0 else { throw SwiftletError.invalidArgument("max_tokens must be ≥ 0, not \(p.max_tokens)") }
    return p
}

private func renderChat(_ model: LanguageModel, _ messages: UnsafePointer<swiftlet_chat_message>?, _ count: Int,
                        addGenerationPrompt: Bool) throws -> String {
    guard count == 0 || messages != nil else { throw SwiftletError.invalidArgument("messages is NULL") }
    var list: [ChatMessage] = []
    for i in 0..<count {
        let message = messages![i]
        let role = try required(message.role, "messages[\(i)].role")
        let content = try required(message.content, "messages[\(i)].content")
        list.append(ChatMessage(role: stringOf(role), content: stringOf(content)))
    }
    let tokenizer = model.tokenizer
    func text(_ id: Int32?) -> String {
        id.flatMap { tokenizer.tokenBytes($0) }.map { String(decoding: $0, as: UTF8.self) } ?? ""
    }
    return try model.chatTemplate.render(messages: list, addGenerationPrompt: addGenerationPrompt,
                                         bosToken: text(tokenizer.bosID), eosToken: text(tokenizer.eosID))
}

/// The generation loop shared by swiftlet_generate and swiftlet_chat.
private func run(_ c: InferenceContext, prompt: [Int32], _ p: swiftlet_generate_params,
                 _ callback: swiftlet_token_callback?, _ userData: UnsafeMutableRawPointer?,
                 _ result: UnsafeMutablePointer<swiftlet_generate_result>?) throws {
    var sampling = p.sampling
    if sampling.struct_size == 0 { swiftlet_sampler_params_init(&sampling) }
    let sampler = try Sampler(settings: samplerSettings(sampling))
    let outcome = try generate(in: c, prompt: prompt, maxTokens: Int(p.max_tokens), sampler: sampler) { text, token in
        guard let callback else { return true }
        let start = text.baseAddress.map { UnsafeRawPointer($0).assumingMemoryBound(to: CChar.self) }
        return callback(start ?? staticString(""), text.count, token, userData)
    }
    if let result {
        let value = swiftlet_generate_result(
            struct_size: UInt32(MemoryLayout<swiftlet_generate_result>.size),
            n_prompt_tokens: Int32(outcome.promptTokenCount), n_generated_tokens: Int32(outcome.generatedTokenCount),
            stop_reason: swiftlet_stop_reason(rawValue: UInt32(outcome.stopReason.rawValue)))
        try writeInfo(value, to: result, "result")
    }
    if let error = outcome.error { throw error }
}
