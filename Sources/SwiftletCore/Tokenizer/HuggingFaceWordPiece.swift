/// What Swiftlet reads from a Hugging Face tokenizer.json that describes a
/// BERT-style WordPiece tokenizer, checked once; `Tokenizer(huggingFace:)`
/// builds from it and `Tokenizer.ggufMetadata(huggingFace:)` writes it out.
///
/// Supported: model WordPiece; normalizer BertNormalizer (alone, in a
/// one-element Sequence, or none); pre-tokenizer BertPreTokenizer (alone or
/// in a one-element Sequence); post-processor TemplateProcessing with a
/// single-sequence template "[X]? $A [Y]?", BertProcessing, or none. Anything
/// else is `.unsupported`, naming it, rather than tokenized differently from
/// the model's training.
struct HuggingFaceWordPiece {
    /// Every token by id as the file spells it (continuations with "##"),
    /// base vocabulary then added tokens beyond it.
    var vocabulary: [String]
    var types: [Tokenizer.TokenType]
    var normalizer: BertNormalizer
    var unknownID: Int32
    var continuationPrefix: String
    var maximumCharactersPerWord: Int
    /// The post-processor's framing of one sequence: BERT's [CLS] and [SEP].
    var prefixID: Int32?
    var suffixID: Int32?
    /// Whether the pair template puts a special token between A and B while
    /// the single template ends with none (gguf-py's `add_sep_token`); nil
    /// without a pair template.
    var separatesPairs: Bool?
    /// `padding.pad_id`, else the token "[PAD]"; and the token "[MASK]".
    var paddingID: Int32?
    var maskID: Int32?

    init(_ json: JSONValue) throws {
        guard json.object != nil else { throw SwiftletError.invalidFile("tokenizer.json is not a JSON object") }
        guard let model = json["model"], model.object != nil else {
            throw SwiftletError.invalidFile("tokenizer.json has no \"model\" object")
        }
        let modelType = model["type"]?.string ?? "(no type)"
        guard modelType == "WordPiece" else {
            throw SwiftletError.unsupported(
                "tokenizer.json model type \"\(modelType)\" is not supported; supported: \"WordPiece\" (BPE, Unigram and WordLevel files are not read from tokenizer.json)")
        }

        // The base vocabulary: token -> id, ids exactly 0..<n.
        guard let entries = model["vocab"]?.object else {
            throw SwiftletError.invalidFile("tokenizer.json model.vocab is not an object")
        }
        var byID = [String?](repeating: nil, count: entries.count)
        for (token, value) in entries.members {
            guard let id = value.integer, id >= 0, id < entries.count else {
                throw SwiftletError.invalidFile(
                    "tokenizer.json model.vocab: \"\(token)\" has id \(value), not in 0..<\(entries.count) (ids must be 0..<n without gaps)")
            }
            guard byID[id] == nil else {
                throw SwiftletError.invalidFile("tokenizer.json model.vocab: id \(id) is given to both \"\(byID[id]!)\" and \"\(token)\"")
            }
            byID[id] = token
        }
        var vocabulary = byID.map { $0! }  // n distinct ids in 0..<n: every slot is filled
        var types = [Tokenizer.TokenType](repeating: .normal, count: vocabulary.count)

        // Added tokens: special ones are control tokens (cut out of the input
        // only when parsing special tokens), the others user-defined (always).
        for added in json["added_tokens"]?.array ?? [] {
            guard let id = added["id"]?.integer, id >= 0, let content = added["content"]?.string, !content.isEmpty else {
                throw SwiftletError.invalidFile("tokenizer.json added_tokens: an entry without a valid id and content")
            }
            for option in ["lstrip", "rstrip", "single_word"] where added[option]?.bool == true {
                throw SwiftletError.unsupported("tokenizer.json added token \"\(content)\" has \(option): true, which is not supported")
            }
            let type: Tokenizer.TokenType = added["special"]?.bool == true ? .control : .userDefined
            if id < vocabulary.count {
                guard vocabulary[id].utf8.elementsEqual(content.utf8) else {
                    throw SwiftletError.invalidFile(
                        "tokenizer.json added token \"\(content)\" has id \(id), which model.vocab gives to \"\(vocabulary[id])\"")
                }
            } else if id == vocabulary.count {
                vocabulary.append(content)
                types.append(type)
            } else {
                throw SwiftletError.invalidFile(
                    "tokenizer.json added token \"\(content)\" has id \(id), leaving a gap after the \(vocabulary.count) tokens before it")
            }
            types[id] = type
        }

        func idOf(_ token: String) -> Int32? {
            vocabulary.firstIndex { $0.utf8.elementsEqual(token.utf8) }.map { Int32($0) }
        }

        guard let unknownToken = model["unk_token"]?.string else {
            throw SwiftletError.invalidFile("tokenizer.json model.unk_token is missing")
        }
        guard let unknownID = idOf(unknownToken) else {
            throw SwiftletError.invalidFile("tokenizer.json model.unk_token \"\(unknownToken)\" is not in the vocabulary")
        }
        self.unknownID = unknownID
        self.continuationPrefix = model["continuing_subword_prefix"]?.string ?? "##"
        guard let maximum = model["max_input_chars_per_word"]?.integer ?? Optional(100), maximum > 0 else {
            throw SwiftletError.invalidFile("tokenizer.json model.max_input_chars_per_word is not a positive integer")
        }
        self.maximumCharactersPerWord = maximum
        self.vocabulary = vocabulary
        self.types = types
        self.normalizer = try Self.normalizer(json["normalizer"] ?? .null)
        try Self.checkPreTokenizer(json["pre_tokenizer"] ?? .null)

        let processor = json["post_processor"] ?? .null
        (prefixID, suffixID, separatesPairs) = try Self.framing(processor, idOf)
        if let padID = json["padding"]?["pad_id"]?.integer {
            guard padID >= 0 && padID < vocabulary.count else {
                throw SwiftletError.invalidFile("tokenizer.json padding.pad_id \(padID) is outside the vocabulary")
            }
            paddingID = Int32(padID)
        } else {
            paddingID = idOf("[PAD]")
        }
        maskID = idOf("[MASK]")
    }

    private static func normalizer(_ value: JSONValue) throws -> BertNormalizer {
        if value.isNull { return BertNormalizer(cleanText: false, handleChineseChars: false, stripAccents: false, lowercase: false) }
        var value = value
        if value["type"]?.string == "Sequence" {
            let parts = value["normalizers"]?.array ?? []
            guard parts.count == 1 else {
                let names = parts.map { $0["type"]?.string ?? "?" }.joined(separator: ", ")
                throw SwiftletError.unsupported(
                    "tokenizer.json normalizer Sequence [\(names)] is not supported; supported: BertNormalizer alone")
            }
            value = parts[0]
        }
        let type = value["type"]?.string ?? "(no type)"
        guard type == "BertNormalizer" else {
            throw SwiftletError.unsupported("tokenizer.json normalizer \"\(type)\" is not supported; supported: BertNormalizer")
        }
        func flag(_ key: String, _ fallback: Bool) throws -> Bool {
            guard let field = value[key], !field.isNull else { return fallback }
            guard let flag = field.bool else { throw SwiftletError.invalidFile("tokenizer.json normalizer.\(key) is not a boolean") }
            return flag
        }
        let lowercase = try flag("lowercase", true)
        // strip_accents null means "as lowercase" (HF and Google BERT).
        return BertNormalizer(cleanText: try flag("clean_text", true),
                              handleChineseChars: try flag("handle_chinese_chars", true),
                              stripAccents: try flag("strip_accents", lowercase), lowercase: lowercase)
    }

    private static func checkPreTokenizer(_ value: JSONValue) throws {
        var value = value
        if value["type"]?.string == "Sequence", let parts = value["pretokenizers"]?.array, parts.count == 1 {
            value = parts[0]
        }
        let type = value.isNull ? "none" : value["type"]?.string ?? "(no type)"
        guard type == "BertPreTokenizer" else {
            throw SwiftletError.unsupported("tokenizer.json pre_tokenizer \"\(type)\" is not supported; supported: BertPreTokenizer")
        }
    }

    /// The ids before and after one sequence, and gguf-py's add_sep reading.
    private static func framing(_ processor: JSONValue, _ idOf: (String) -> Int32?) throws
    -> (prefix: Int32?, suffix: Int32?, separatesPairs: Bool?) {
        if processor.isNull { return (nil, nil, nil) }
        let type = processor["type"]?.string ?? "(no type)"
        switch type {
        case "BertProcessing":
            func token(_ key: String) throws -> Int32 {
                guard let pair = processor[key]?.array, pair.count == 2, let name = pair[0].string,
                      let id = pair[1].integer, let known = idOf(name), Int(known) == id else {
                    throw SwiftletError.invalidFile("tokenizer.json post_processor.\(key) is not [token, id] of a vocabulary token")
                }
                return known
            }
            return (try token("cls"), try token("sep"), false)
        case "TemplateProcessing":
            func specialID(_ piece: JSONValue) throws -> Int32? {
                guard let name = piece["SpecialToken"]?["id"]?.string else { return nil }
                guard let ids = processor["special_tokens"]?[name]?["ids"]?.array, ids.count == 1,
                      let id = ids[0].integer, id >= 0, let known = idOf(name), Int(known) == id else {
                    throw SwiftletError.unsupported(
                        "tokenizer.json post_processor special token \"\(name)\" is not exactly one vocabulary token")
                }
                return known
            }
            let single = processor["single"]?.array ?? []
            var body = single[...]
            let prefix = try body.first.flatMap(specialID)
            if prefix != nil { body = body.dropFirst() }
            let suffix = try body.last.flatMap(specialID)
            if suffix != nil { body = body.dropLast() }
            guard body.count == 1, body.first?["Sequence"]?["id"]?.string == "A" else {
                throw SwiftletError.unsupported(
                    "tokenizer.json post_processor TemplateProcessing single template is not \"[special]? $A [special]?\"")
            }
            var separates: Bool? = nil
            if let pair = processor["pair"]?.array, pair.count >= 2 {
                let middle = pair.drop { $0["Sequence"]?["id"]?.string != "A" }.dropFirst()
                    .prefix { $0["Sequence"]?["id"]?.string != "B" }
                separates = suffix == nil && middle.contains { $0["SpecialToken"] != nil }
            }
            return (prefix, suffix, separates)
        default:
            throw SwiftletError.unsupported(
                "tokenizer.json post_processor \"\(type)\" is not supported; supported: TemplateProcessing, BertProcessing")
        }
    }
}
