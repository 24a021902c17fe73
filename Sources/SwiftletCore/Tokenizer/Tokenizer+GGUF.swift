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
        try self.init(
            tokens: tokens, tokenTypes: types, merges: merges, model: model, preTokenizer: preTokenizer,
            bosID: try optionalID("tokenizer.ggml.bos_token_id"), eosID: try optionalID("tokenizer.ggml.eos_token_id"),
            eotID: try optionalID("tokenizer.ggml.eot_token_id"),
            addBOS: file.metadata("tokenizer.ggml.add_bos_token")?.asBool ?? false,
            scores: scores, addSpacePrefix: file.metadata("tokenizer.ggml.add_space_prefix")?.asBool ?? true)
    }
}
