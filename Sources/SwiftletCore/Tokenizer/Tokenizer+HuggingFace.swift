/// Building a Tokenizer from a Hugging Face tokenizer.json (BERT's WordPiece),
/// and the GGUF metadata llama.cpp's converter writes for the same file.
extension Tokenizer {
    /// The tokenizer a tokenizer.json describes (see HuggingFaceWordPiece for
    /// what is supported). [CLS] and [SEP] of the post-processor become
    /// `bosID`/`eosID`, with `addBOS`/`addEOS` set, so
    /// `encode(_:addSpecial: true, parseSpecial:)` gives "[CLS] … [SEP]".
    /// `truncation` and `padding` are not the tokenizer's business here.
    /// - Throws: `.unsupported` naming a model, normalizer, pre-tokenizer or
    ///   post-processor Swiftlet does not implement; `.invalidFile` for
    ///   inconsistent data (vocabulary ids not 0..<n, a duplicate id or token,
    ///   an unknown token missing from the vocabulary, ...).
    public convenience init(huggingFace json: JSONValue) throws {
        try self.init(wordPiece: try HuggingFaceWordPiece(json))
    }

    /// The tokenizer and its `tokenizer.ggml.*` metadata (see
    /// `ggufMetadata(huggingFace:tokenTypeCount:)`) from one reading of tokenizer.json.
    public static func withGGUFMetadata(huggingFace json: JSONValue,
                                        tokenTypeCount: Int? = nil) throws -> (Tokenizer, [(String, GGUFValue)]) {
        let file = try HuggingFaceWordPiece(json)
        let tokenizer = try Tokenizer(wordPiece: file)  // the reader's checks (duplicates, ids) come first
        return (tokenizer, try ggufMetadata(file, tokenTypeCount: tokenTypeCount))
    }

    private convenience init(wordPiece file: HuggingFaceWordPiece) throws {
        try self.init(wordPieceVocabulary: file.vocabulary, types: file.types, normalizer: file.normalizer,
                      unknownID: file.unknownID, continuationPrefix: file.continuationPrefix,
                      maximumCharactersPerWord: file.maximumCharactersPerWord,
                      bosID: file.prefixID, eosID: file.suffixID,
                      addBOS: file.prefixID != nil, addEOS: file.suffixID != nil, source: "tokenizer.json")
    }

    /// The `tokenizer.ggml.*` metadata llama.cpp's convert_hf_to_gguf.py
    /// (`BertModel.set_vocab` and gguf-py's `SpecialVocab`) writes for this
    /// tokenizer.json, in its order, so `swiftlet convert` makes the same file
    /// and `Tokenizer(gguf:)` reads it back to the same ids.
    ///
    /// Tokens in llama.cpp's "phantom space" spelling: control tokens as they
    /// are, "##" continuations without the "##", every other token after
    /// U+2581. Special ids come from the file itself, where gguf-py reads
    /// tokenizer_config.json: BOS = CLS = the template's first token, EOS =
    /// SEP = its last, PAD = padding.pad_id or "[PAD]", MASK = "[MASK]".
    /// `tokenizer.ggml.pre` is "bert-bge", the name convert_hf_to_gguf.py
    /// gives the standard uncased BERT pre-tokenizer (Swiftlet's reader does
    /// not use it). `tokenTypeCount` is config.json's `type_vocab_size`
    /// (`tokenizer.ggml.token_type_count`), written first when given.
    /// - Throws: as `init(huggingFace:)`; `.unsupported` for a prefix other
    ///   than "##" (the GGUF spelling has no room for another).
    public static func ggufMetadata(huggingFace json: JSONValue, tokenTypeCount: Int? = nil) throws -> [(String, GGUFValue)] {
        try withGGUFMetadata(huggingFace: json, tokenTypeCount: tokenTypeCount).1
    }

    private static func ggufMetadata(_ file: HuggingFaceWordPiece, tokenTypeCount: Int?) throws -> [(String, GGUFValue)] {
        guard file.continuationPrefix == "##" else {
            throw SwiftletError.unsupported("a continuing_subword_prefix other than \"##\" cannot be written as a GGUF \"bert\" vocabulary")
        }
        var entries: [(String, GGUFValue)] = []
        if let tokenTypeCount {
            guard let count = UInt32(exactly: tokenTypeCount) else {
                throw SwiftletError.invalidArgument("token type count \(tokenTypeCount) does not fit in uint32")
            }
            entries.append(("tokenizer.ggml.token_type_count", .uint32(count)))
        }
        let tokens = zip(file.vocabulary, file.types).map { token, type -> String in
            if type == .control { return token }
            // By scalars, not Characters: "##ि" is two Characters, the second "#ि".
            if token.utf8.starts(with: "##".utf8) { return String(token.unicodeScalars.dropFirst(2)) }
            return "\u{2581}" + token
        }
        entries += [
            ("tokenizer.ggml.model", .string("bert")),
            ("tokenizer.ggml.pre", .string("bert-bge")),
            ("tokenizer.ggml.tokens", .array(.string(tokens))),
            ("tokenizer.ggml.token_type", .array(.int32(file.types.map(\.rawValue)))),
        ]
        let ids: [(String, Int32?)] = [
            ("bos_token_id", file.prefixID), ("eos_token_id", file.suffixID), ("unknown_token_id", file.unknownID),
            ("seperator_token_id", file.suffixID), ("padding_token_id", file.paddingID),
            ("cls_token_id", file.prefixID), ("mask_token_id", file.maskID),
        ]
        for (key, id) in ids {
            if let id { entries.append(("tokenizer.ggml.\(key)", .uint32(UInt32(id)))) }
        }
        entries.append(("tokenizer.ggml.add_bos_token", .bool(file.prefixID != nil)))
        entries.append(("tokenizer.ggml.add_eos_token", .bool(file.suffixID != nil)))
        if let separates = file.separatesPairs { entries.append(("tokenizer.ggml.add_sep_token", .bool(separates))) }
        return entries
    }
}
