import CSwiftlet
import SwiftletCore

@c @implementation
public func swiftlet_tokenize(_ model: OpaquePointer?, _ text: UnsafePointer<CChar>?, _ text_len: Int, _ flags: UInt32,
                              _ tokens: UnsafeMutablePointer<Int32>?, _ capacity: Int,
                              _ out_count: UnsafeMutablePointer<Int>?) -> swiftlet_status {
    withStatus {
        let m = try modelOf(model)
        let count = try required(out_count, "out_count")
        guard text_len == 0 || text != nil else { throw SwiftletError.invalidArgument("text is NULL") }
        // text_len is a size_t: past Int.max it is negative here.
        guard text_len >= 0, text_len <= Int(SWIFTLET_MAX_TEXT_BYTES) else {
            throw SwiftletError.invalidArgument(
                "text_len \(UInt(bitPattern: text_len)) is more than SWIFTLET_MAX_TEXT_BYTES (\(SWIFTLET_MAX_TEXT_BYTES))")
        }
        let bytes = text.map { Array(UnsafeRawBufferPointer(start: $0, count: text_len)) } ?? []
        let ids = try tokenize(m, bytes, flags: flags)
        count.pointee = ids.count
        guard capacity < 0 || ids.count <= capacity else {
            throw SwiftletError(.bufferTooSmall, "\(ids.count) tokens do not fit in a buffer of \(capacity)")
        }
        guard ids.isEmpty || tokens != nil else { throw SwiftletError.invalidArgument("tokens is NULL") }
        if let tokens { tokens.update(from: ids, count: ids.count) }
    }
}

@c @implementation
public func swiftlet_token_to_bytes(_ model: OpaquePointer?, _ token: Int32, _ buf: UnsafeMutablePointer<CChar>?,
                                    _ buf_size: Int, _ out_len: UnsafeMutablePointer<Int>?) -> swiftlet_status {
    withStatus {
        let m = try modelOf(model)
        guard let bytes = m.tokenizer.tokenBytes(token) else {
            throw SwiftletError.invalidArgument("token id \(token) is outside the vocabulary (0..<\(m.tokenizer.vocabularySize))")
        }
        try copyOut(bytes, to: buf, size: buf_size, length: out_len, terminate: false)
    }
}

@c @implementation
public func swiftlet_detokenize(_ model: OpaquePointer?, _ tokens: UnsafePointer<Int32>?, _ n_tokens: Int,
                                _ buf: UnsafeMutablePointer<CChar>?, _ buf_size: Int,
                                _ out_len: UnsafeMutablePointer<Int>?) -> swiftlet_status {
    withStatus {
        let m = try modelOf(model)
        guard n_tokens == 0 || tokens != nil else { throw SwiftletError.invalidArgument("tokens is NULL") }
        // Every token is at least one byte of text or none; more tokens than
        // the longest text is a corrupt count (and past Int.max, negative here).
        guard n_tokens >= 0, n_tokens <= Int(SWIFTLET_MAX_TEXT_BYTES) else {
            throw SwiftletError.invalidArgument(
                "n_tokens \(UInt(bitPattern: n_tokens)) is more than SWIFTLET_MAX_TEXT_BYTES (\(SWIFTLET_MAX_TEXT_BYTES))")
        }
        let ids = tokens.map { Array(UnsafeBufferPointer(start: $0, count: n_tokens)) } ?? []
        // decode repairs invalid UTF-8 (e.g. a cut character) to U+FFFD, as documented.
        try copyOut(try m.tokenizer.decode(ids), to: buf, size: buf_size, length: out_len, terminate: true)
    }
}

@c @implementation
public func swiftlet_vocab_size(_ model: OpaquePointer?) -> Int32 {
    guard let m = try? modelOf(model) else { return 0 }
    return Int32(m.tokenizer.vocabularySize)
}

@c @implementation
public func swiftlet_token_is_end_of_generation(_ model: OpaquePointer?, _ token: Int32) -> Int32 {
    guard let m = try? modelOf(model) else { return 0 }
    return m.tokenizer.isEndOfGeneration(token) ? 1 : 0
}

/// Tokenizes with SWIFTLET_TOKENIZE_* flags, rejecting unknown bits. With a
/// `limit` (a context's free room), more tokens than that is CONTEXT_FULL,
/// found without tokenizing the whole text.
func tokenize(_ model: LanguageModel, _ bytes: [UInt8], flags: UInt32, limit: Int = .max) throws -> [Int32] {
    let known = SWIFTLET_TOKENIZE_ADD_BOS | SWIFTLET_TOKENIZE_SPECIAL | SWIFTLET_TOKENIZE_MODEL_BOS
    guard flags & ~known == 0 else {
        throw SwiftletError.invalidArgument("unknown tokenize flags 0x\(String(flags, radix: 16))")
    }
    let addBOS = flags & SWIFTLET_TOKENIZE_ADD_BOS != 0
        || (flags & SWIFTLET_TOKENIZE_MODEL_BOS != 0 && model.tokenizer.addBOS)
    var tokens = bytes.withUnsafeBufferPointer {
        model.tokenizer.encode($0, addBOS: addBOS, parseSpecial: flags & SWIFTLET_TOKENIZE_SPECIAL != 0, limit: limit)
    }
    if flags & SWIFTLET_TOKENIZE_MODEL_BOS != 0 { tokens += model.tokenizer.sequenceSuffix }  // BERT's [SEP]
    guard tokens.count <= limit else {
        throw SwiftletError(.contextFull, "the prompt is longer than the \(limit) tokens the context has room for")
    }
    return tokens
}
