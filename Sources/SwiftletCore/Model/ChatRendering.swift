/// The one front door for chat: rendering a conversation with a model's chat
/// template (or a caller's own) and tokenizing the result. The C API's
/// swiftlet_chat / swiftlet_chat_format and the CLI all come through here, so
/// `bos_token` / `eos_token` and special-token parsing are the same everywhere.
extension LanguageModel {
    /// Renders `messages` with `templateSource` when given (a caller's own
    /// template, as llama-cpp-python's `chat_format=`), otherwise with the
    /// model's `tokenizer.chat_template` (or its fallback).
    /// Errors: `.template` for a template that does not parse or render; the
    /// model's own template's syntax error was kept at load and is thrown here.
    public func renderChat(_ messages: [ChatMessage], addGenerationPrompt: Bool,
                           templateSource: String? = nil) throws -> String {
        let template = try templateSource.map { try ChatTemplate(source: $0) } ?? chatTemplate
        return try template.render(messages: messages, addGenerationPrompt: addGenerationPrompt,
                                   bosToken: tokenText(tokenizer.bosID), eosToken: tokenText(tokenizer.eosID))
    }

    /// Renders and tokenizes a conversation the way a chat turn is evaluated:
    /// special tokens recognised, BOS as the model's metadata asks unless the
    /// template wrote it already (Gemma's does: no doubled BOS). With a
    /// `limit` (a context's capacity), a conversation of more tokens throws
    /// `.contextFull` as soon as that is known, before tokenizing the rest.
    public func chatTokens(_ messages: [ChatMessage], templateSource: String? = nil,
                           limit: Int = .max) throws -> [Int32] {
        var text = try renderChat(messages, addGenerationPrompt: true, templateSource: templateSource)
        let bos = tokenText(tokenizer.bosID)
        let addBOS = tokenizer.addBOS && !(bos != "" && text.hasPrefix(bos))
        let tokens = text.withUTF8 { tokenizer.encode($0, addBOS: addBOS, parseSpecial: true, limit: limit) }
        guard tokens.count <= limit else {
            throw SwiftletError(.contextFull, "the conversation is longer than the context's \(limit) tokens")
        }
        return tokens
    }

    /// The template for a file that carries none: Gemma's turns when the
    /// vocabulary has their markers as special tokens, ChatML otherwise.
    static func fallbackChatTemplate(for tokenizer: Tokenizer) -> String {
        func isOneToken(_ text: String) -> Bool { tokenizer.encode(text, addBOS: false, parseSpecial: true).count == 1 }
        return isOneToken("<start_of_turn>") && isOneToken("<end_of_turn>") ? ChatTemplate.gemmaTurns : ChatTemplate.chatML
    }

    private func tokenText(_ id: Int32?) -> String {
        id.flatMap { tokenizer.tokenBytes($0) }.map { String(decoding: $0, as: UTF8.self) } ?? ""
    }
}
