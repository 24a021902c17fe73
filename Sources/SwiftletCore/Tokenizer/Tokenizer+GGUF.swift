/// Building a Tokenizer from GGUF metadata.
extension Tokenizer {
    /// The tokenizer described by `file`'s `tokenizer.ggml.*` metadata (what
    /// `LanguageModel` loads; also usable on a file whose architecture is not
    /// supported). Throws as `init(tokens:...)` does, and `.notFound` /
    /// `.invalidFile` for missing or mistyped keys.
    public convenience init(gguf file: any ModelFile) throws {
        func required(_ key: String) throws -> GGUFValue {
            guard let value = file.metadata(key) else { throw SwiftletError.notFound("missing metadata key \(key)") }
            return value
        }
        func optionalID(_ key: String) throws -> Int32? {
            guard let value = file.metadata(key) else { return nil }
            guard let id = value.asInt, let id32 = Int32(exactly: id) else {
                throw SwiftletError.invalidFile("metadata \(key) is not a token id")
            }
            return id32
        }
        guard let model = try required("tokenizer.ggml.model").asString else {
            throw SwiftletError.invalidFile("tokenizer.ggml.model is not a string")
        }
        guard let tokens = try required("tokenizer.ggml.tokens").asStringArray else {
            throw SwiftletError.invalidFile("tokenizer.ggml.tokens is not an array of strings")
        }
        let merges: [String]
        if let value = file.metadata("tokenizer.ggml.merges") {
            guard let list = value.asStringArray else { throw SwiftletError.invalidFile("tokenizer.ggml.merges is not an array of strings") }
            merges = list
        } else {
            merges = []
        }
        var types: [Int32]? = nil
        if let value = file.metadata("tokenizer.ggml.token_type") {
            guard let list = value.asInt32Array else { throw SwiftletError.invalidFile("tokenizer.ggml.token_type is not an integer array") }
            types = list
        }
        var preTokenizer: String? = nil
        if let value = file.metadata("tokenizer.ggml.pre") {
            guard let text = value.asString else { throw SwiftletError.invalidFile("tokenizer.ggml.pre is not a string") }
            preTokenizer = text
        }
        var scores: [Float]? = nil
        if let value = file.metadata("tokenizer.ggml.scores") {
            guard let list = value.asFloatArray else { throw SwiftletError.invalidFile("tokenizer.ggml.scores is not a float array") }
            scores = list
        }
        if model == "bert" {
            try self.init(bertGGUF: file, tokens: tokens, types: types, optionalID: optionalID)
            return
        }
        try self.init(
            tokens: tokens, tokenTypes: types, merges: merges, model: model, preTokenizer: preTokenizer,
            bosID: try optionalID("tokenizer.ggml.bos_token_id"), eosID: try optionalID("tokenizer.ggml.eos_token_id"),
            eotID: try optionalID("tokenizer.ggml.eot_token_id"),
            addBOS: file.metadata("tokenizer.ggml.add_bos_token")?.asBool ?? false,
            scores: scores, addSpacePrefix: file.metadata("tokenizer.ggml.add_space_prefix")?.asBool ?? true,
            addEOS: file.metadata("tokenizer.ggml.add_eos_token")?.asBool ?? false)
    }

    /// A "bert" vocabulary as llama.cpp's converter writes it, mapped back to
    /// WordPiece with BERT's defaults (clean text, CJK, strip accents,
    /// lowercase; what llama.cpp's WPM tokenizer applies too). Tokens are in
    /// "phantom space" form: "▁word" starts a word, a bare piece continues one
    /// ("##" dropped), control tokens are literal; "[...]" tokens are literal
    /// too (older converters left "[unused0]" without the "▁").
    /// [CLS] is the prefix and [SEP] the suffix: `cls_token_id` else
    /// `bos_token_id` else the token "[CLS]"; `seperator_token_id` (sic) else
    /// `eos_token_id` else "[SEP]". Both are added unless add_bos_token /
    /// add_eos_token (or add_sep_token) say false, llama.cpp's "bert" default.
    private convenience init(bertGGUF file: any ModelFile, tokens: [String], types rawTypes: [Int32]?,
                             optionalID: (String) throws -> Int32?) throws {
        let types = try (rawTypes ?? [Int32](repeating: TokenType.normal.rawValue, count: tokens.count)).enumerated().map { id, value in
            guard let type = TokenType(rawValue: value) else {
                throw SwiftletError.invalidFile("token \(id) has unknown token type \(value)")
            }
            return type
        }
        guard types.count == tokens.count else {
            throw SwiftletError.invalidFile("tokenizer.ggml.token_type has \(types.count) entries for \(tokens.count) tokens")
        }
        let vocabulary = zip(tokens, types).map { token, type -> String in
            if type.isStoredLiterally { return token }
            if token.unicodeScalars.first == "\u{2581}" { return String(token.unicodeScalars.dropFirst()) }
            let bytes = token.utf8  // bytes, not Characters: a piece may start with a combining mark
            if bytes.count > 2 && bytes.first == UInt8(ascii: "[") && bytes.last == UInt8(ascii: "]") { return token }
            return "##" + token
        }
        func named(_ name: String) -> Int32? {
            vocabulary.firstIndex { $0.utf8.elementsEqual(name.utf8) }.map { Int32($0) }
        }
        guard let unknownID = try optionalID("tokenizer.ggml.unknown_token_id") ?? named("[UNK]") else {
            throw SwiftletError.invalidFile("a \"bert\" vocabulary needs tokenizer.ggml.unknown_token_id (or a token \"[UNK]\")")
        }
        let cls = try optionalID("tokenizer.ggml.cls_token_id") ?? optionalID("tokenizer.ggml.bos_token_id") ?? named("[CLS]")
        let sep = try optionalID("tokenizer.ggml.seperator_token_id") ?? optionalID("tokenizer.ggml.eos_token_id") ?? named("[SEP]")
        let addEOS = file.metadata("tokenizer.ggml.add_eos_token")?.asBool
            ?? file.metadata("tokenizer.ggml.add_sep_token")?.asBool ?? true
        try self.init(wordPieceVocabulary: vocabulary, types: types, normalizer: BertNormalizer(),
                      unknownID: unknownID, bosID: cls, eosID: sep,
                      addBOS: file.metadata("tokenizer.ggml.add_bos_token")?.asBool ?? true, addEOS: addEOS,
                      source: "GGUF \"bert\" vocabulary")
    }
}
