/// Turning token ids back into bytes and text.
///
/// Two views of a token: `tokenBytes` is what the token *is* (raw bytes with
/// GPT-2's byte-to-character mapping undone; a control token's literal name,
/// e.g. "<|im_end|>"), while `pieceBytes` is what it *contributes to decoded
/// text* (nothing for control tokens such as BOS and EOS, unless asked). A
/// token may hold part of a UTF-8 character; `decode` repairs what stays
/// broken, and `UTF8StreamDecoder` joins pieces when streaming.
extension Tokenizer {
    /// The raw bytes of token `id`, or nil if `id` is not in the vocabulary.
    public func tokenBytes(_ id: Int32) -> [UInt8]? {
        guard isValid(id) else { return nil }
        return Array(tokenStorage[tokenOffsets[Int(id)]..<tokenOffsets[Int(id) + 1]])
    }

    /// The kind of token `id`, or nil if `id` is not in the vocabulary.
    public func tokenType(_ id: Int32) -> TokenType? {
        isValid(id) ? types[Int(id)] : nil
    }

    public func isValid(_ id: Int32) -> Bool {
        id >= 0 && Int(id) < types.count
    }

    /// The bytes token `id` adds to decoded text: empty for control and
    /// unknown tokens unless `renderControlTokens`; nil if `id` is invalid.
    public func pieceBytes(_ id: Int32, renderControlTokens: Bool = false) -> [UInt8]? {
        guard isValid(id) else { return nil }
        if isSilent(Int(id), renderControlTokens) { return [] }
        return tokenBytes(id)
    }

    /// The text of `ids` as UTF-8. Control tokens produce nothing unless
    /// `renderControlTokens`; bytes that do not form valid UTF-8 become
    /// U+FFFD. Throws `.invalidArgument` for an id outside the vocabulary.
    public func decode(_ ids: [Int32], renderControlTokens: Bool = false) throws -> [UInt8] {
        var raw: [UInt8] = []
        raw.reserveCapacity(ids.count * 4)
        for id in ids {
            guard isValid(id) else {
                throw SwiftletError.invalidArgument("token id \(id) is outside the vocabulary (0..<\(vocabularySize))")
            }
            if isSilent(Int(id), renderControlTokens) { continue }
            raw.append(contentsOf: tokenStorage[tokenOffsets[Int(id)]..<tokenOffsets[Int(id) + 1]])
        }
        var text: [UInt8] = []
        text.reserveCapacity(raw.count)
        raw.withUnsafeBufferPointer { UTF8Decoding.appendRepairing($0, to: &text) }
        return text
    }

    /// Whether generation should stop at `id`: EOS, EOT, and tokens named
    /// like end markers of common chat formats ("<|im_end|>", "<|endoftext|>",
    /// "<|eot_id|>", "<end_of_turn>", ...) when the vocabulary has them.
    public func isEndOfGeneration(_ id: Int32) -> Bool {
        endOfGenerationIDs.contains(id)
    }

    /// Whether token `id` adds nothing to decoded text. For SentencePiece,
    /// as llama.cpp's `token_to_piece`, unused and undefined tokens are
    /// silent even when control tokens are rendered.
    private func isSilent(_ id: Int, _ renderControlTokens: Bool) -> Bool {
        if isSentencePiece && (types[id] == .unused || types[id] == .undefined) { return true }
        return !renderControlTokens && (types[id] == .control || types[id] == .unknown)
    }
}
