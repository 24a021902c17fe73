import Synchronization

/// The tokenizer of a GGUF file (`tokenizer.ggml.*`): GPT-2-style byte-level
/// BPE (`model` "gpt2"), SentencePiece (`model` "llama") or BERT's WordPiece
/// (`model` "bert", or a Hugging Face tokenizer.json: see
/// Tokenizer+HuggingFace.swift). Immutable after init, so any number of
/// threads may use one instance at once.
///
/// Encoding: special tokens written in the text are cut out first (see
/// SpecialTokenMatcher). For "gpt2" the rest is split by the model's
/// pre-tokenizer (see PreTokenizer) and each piece is BPE-encoded from its
/// bytes (see BytePairEncoder); for "llama" each text fragment has its spaces
/// escaped to "▁" and is encoded whole by score (see SentencePieceEncoder);
/// for WordPiece each fragment is normalized, split into words and each word
/// cut into pieces (see Tokenizer+WordPiece.swift).
/// Decoding maps tokens back to bytes (see Tokenizer+Decoding.swift).
public final class Tokenizer: Sendable {
    public var vocabularySize: Int { types.count }
    public let bosID: Int32?
    public let eosID: Int32?
    /// End of turn (`tokenizer.ggml.eot_token_id`), if the file names one.
    public let eotID: Int32?
    /// Whether the model expects BOS before a prompt (`tokenizer.ggml.add_bos_token`).
    public let addBOS: Bool
    /// Whether the model expects EOS after its input (`tokenizer.ggml.add_eos_token`;
    /// true for BERT, whose sequences are "[CLS] … [SEP]").
    public let addEOS: Bool

    /// Which algorithm encodes the text between special tokens.
    enum Algorithm: Sendable {
        case bytePair(PreTokenizer, BytePairEncoder)
        /// `addSpacePrefix`: `tokenizer.ggml.add_space_prefix`.
        case sentencePiece(SentencePieceEncoder, addSpacePrefix: Bool)
        /// BERT: normalizer, then BertPreTokenizer, then WordPiece.
        case wordPiece(BertNormalizer, WordPieceEncoder)
    }
    let algorithm: Algorithm
    var isSentencePiece: Bool {
        if case .sentencePiece = algorithm { return true }
        return false
    }
    let specialTokens: SpecialTokenMatcher
    /// `tokenTrie` (for grammars), once built.
    let tokenTrieCache = Mutex<TokenTrie?>(nil)
    let types: [TokenType]
    /// Raw bytes of every token (byte-level mapping undone; control and
    /// user-defined tokens as their literal text); token `i` is
    /// `tokenStorage[tokenOffsets[i]..<tokenOffsets[i + 1]]`.
    let tokenStorage: [UInt8]
    let tokenOffsets: [Int]
    /// Sorted ids at which generation should stop.
    let endOfGenerationIDs: [Int32]

    /// Builds the tokenizer.
    /// - Parameters:
    ///   - tokens: `tokenizer.ggml.tokens`, in GPT-2's byte-to-character form.
    ///   - tokenTypes: `tokenizer.ggml.token_type` (nil: every token is normal).
    ///   - merges: `tokenizer.ggml.merges`, "LEFT RIGHT", highest priority first.
    ///   - model: `tokenizer.ggml.model`: "gpt2" or "llama" (SentencePiece).
    ///   - preTokenizer: `tokenizer.ggml.pre`, or nil if absent (see PreTokenizer);
    ///     not used for "llama".
    ///   - scores: `tokenizer.ggml.scores`, required for "llama".
    ///   - addSpacePrefix: `tokenizer.ggml.add_space_prefix` ("llama" only;
    ///     llama.cpp's default when the key is absent is true).
    ///   - addEOS: `tokenizer.ggml.add_eos_token` (absent: false).
    /// - Throws: `SwiftletError` `.unsupported` for another model or an unknown
    ///   pre-tokenizer; `.invalidFile` for inconsistent data (wrong-length type
    ///   array, unknown type, duplicate token, malformed merge or one naming a
    ///   missing token, a special id outside the vocabulary).
    public init(tokens: [String], tokenTypes: [Int32]?, merges: [String], model: String,
                preTokenizer: String?, bosID: Int32?, eosID: Int32?, eotID: Int32?, addBOS: Bool,
                scores: [Float]? = nil, addSpacePrefix: Bool = true, addEOS: Bool = false) throws {
        guard model == "gpt2" || model == "llama" else {
            throw SwiftletError.unsupported(
                "unsupported tokenizer model \"\(model)\" (tokenizer.ggml.model); supported: \"gpt2\" (byte-level BPE), \"llama\" (SentencePiece)")
        }
        let sentencePiece = model == "llama"
        guard !tokens.isEmpty, tokens.count < Int(Int32.max) else {
            throw SwiftletError.invalidFile("tokenizer.ggml.tokens has \(tokens.count) entries")
        }

        var types = try Self.readTypes(tokenTypes, tokenCount: tokens.count)
        for (key, id) in [("bos_token_id", bosID), ("eos_token_id", eosID), ("eot_token_id", eotID)] {
            if let id, id < 0 || Int(id) >= tokens.count {
                throw SwiftletError.invalidFile(
                    "tokenizer.ggml.\(key) is \(id), outside the vocabulary of \(tokens.count) tokens")
            }
        }

        // Texts as the file spells them, for looking tokens up by name.
        var text: [UInt8] = []
        var textOffsets: [Int] = []
        textOffsets.reserveCapacity(tokens.count + 1)
        for token in tokens {
            textOffsets.append(text.count)
            text.append(contentsOf: token.utf8)
        }
        textOffsets.append(text.count)
        let index = TokenTextIndex(text: text, offsets: textOffsets)
        if let duplicate = index.firstDuplicate {
            throw SwiftletError.invalidFile("token \(duplicate) (\"\(tokens[Int(duplicate)])\") appears twice in tokenizer.ggml.tokens")
        }

        // End-of-generation markers. As llama.cpp does, well-known end-marker
        // texts count even if the file forgot to type them as control.
        var endIDs = Set([eosID, eotID].compactMap { $0 })
        for name in Self.endOfGenerationTexts {
            if let id = index.find(Array(name.utf8)) {
                endIDs.insert(id)
                types[Int(id)] = .control
            }
        }

        let (storage, offsets): ([UInt8], [Int])
        if sentencePiece {
            guard let scores, scores.count == tokens.count else {
                throw SwiftletError.invalidFile("tokenizer.ggml.scores must hold one score per token for a \"llama\" tokenizer")
            }
            (storage, offsets) = Self.sentencePieceBytes(tokens, types)
            algorithm = .sentencePiece(SentencePieceEncoder(index: index, scores: scores), addSpacePrefix: addSpacePrefix)
        } else {
            (storage, offsets) = Self.rawBytes(tokens, types)
            let byteTokens = (0..<256).map { index.find(ByteLevelMapping.vocabularyText(for: UInt8($0))) ?? -1 }
            algorithm = .bytePair(try PreTokenizer(ggufName: preTokenizer),
                                  BytePairEncoder(merges: try Self.readMerges(merges, index), byteTokens: byteTokens))
        }

        var specials: [SpecialTokenMatcher.Entry] = []
        for (id, type) in types.enumerated() where type.isStoredLiterally {
            let bytes = Array(storage[offsets[id]..<offsets[id + 1]])
            specials.append(.init(id: Int32(id), text: bytes, onlyWhenParsingSpecial: type != .userDefined))
        }
        self.specialTokens = SpecialTokenMatcher(specials)

        self.types = types
        self.tokenStorage = storage
        self.tokenOffsets = offsets
        self.endOfGenerationIDs = endIDs.sorted()
        self.bosID = bosID
        self.eosID = eosID
        self.eotID = eotID
        self.addBOS = addBOS
        self.addEOS = addEOS
    }

    /// Assembles a tokenizer from parts already checked (the WordPiece builders).
    /// `storage`/`offsets` are every token's decoded bytes; control, unknown and
    /// user-defined tokens are matched in the input by their stored bytes.
    init(algorithm: Algorithm, types: [TokenType], storage: [UInt8], offsets: [Int],
         bosID: Int32?, eosID: Int32?, addBOS: Bool, addEOS: Bool) {
        var specials: [SpecialTokenMatcher.Entry] = []
        for (id, type) in types.enumerated() where type.isStoredLiterally {
            specials.append(.init(id: Int32(id), text: Array(storage[offsets[id]..<offsets[id + 1]]),
                                  onlyWhenParsingSpecial: type != .userDefined))
        }
        self.specialTokens = SpecialTokenMatcher(specials)
        self.algorithm = algorithm
        self.types = types
        self.tokenStorage = storage
        self.tokenOffsets = offsets
        self.endOfGenerationIDs = eosID.map { [$0] } ?? []
        self.bosID = bosID
        self.eosID = eosID
        self.eotID = nil
        self.addBOS = addBOS
        self.addEOS = addEOS
    }

    // MARK: - Encoding

    /// The ids the model puts before its input: BOS if it wants one.
    public var sequencePrefix: [Int32] { addBOS ? bosID.map { [$0] } ?? [] : [] }
    /// The ids the model puts after its input: EOS if it wants one (BERT's [SEP]).
    public var sequenceSuffix: [Int32] { addEOS ? eosID.map { [$0] } ?? [] : [] }

    /// The token ids of `text`, framed as the model expects its input when
    /// `addSpecial` (`sequencePrefix` + ids + `sequenceSuffix`; for BERT,
    /// "[CLS] … [SEP]"), as llama.cpp's `add_special` and HF's
    /// `add_special_tokens`. A caller that truncates should encode without
    /// framing, truncate, then add the prefix and suffix.
    public func encode(_ text: String, addSpecial: Bool, parseSpecial: Bool) -> [Int32] {
        var text = text
        return text.withUTF8 { encode($0, addSpecial: addSpecial, parseSpecial: parseSpecial) }
    }

    /// `encode(_:addSpecial:parseSpecial:)` of UTF-8 `bytes`.
    public func encode(_ bytes: UnsafeBufferPointer<UInt8>, addSpecial: Bool, parseSpecial: Bool) -> [Int32] {
        var ids = encode(bytes, addBOS: addSpecial && addBOS, parseSpecial: parseSpecial)
        if addSpecial { ids += sequenceSuffix }
        return ids
    }

    /// The token ids of `text`.
    /// - Parameters:
    ///   - addBOS: prepend BOS (if the model has one), and nothing else; for
    ///     the model's whole framing (BERT's "[CLS] … [SEP]") use
    ///     `encode(_:addSpecial:parseSpecial:)`.
    ///   - parseSpecial: recognise control tokens written in the text
    ///     ("<|im_start|>" becomes its one id); otherwise such text is
    ///     tokenized as ordinary characters.
    public func encode(_ text: String, addBOS: Bool, parseSpecial: Bool) -> [Int32] {
        var text = text
        return text.withUTF8 { encode($0, addBOS: addBOS, parseSpecial: parseSpecial) }
    }

    /// The token ids of UTF-8 `bytes`. Ill-formed UTF-8 is not an error: its
    /// bytes are encoded as byte tokens.
    public func encode(_ bytes: [UInt8], addBOS: Bool, parseSpecial: Bool) -> [Int32] {
        bytes.withUnsafeBufferPointer { encode($0, addBOS: addBOS, parseSpecial: parseSpecial) }
    }

    /// The token ids of UTF-8 `bytes` (see `encode(_:addBOS:parseSpecial:)`).
    /// With a `limit`, encoding stops once more than `limit` ids are made, so a
    /// caller that only needs to know "too many" (a context's free room) does
    /// not pay for tokenizing a huge text to the end.
    public func encode(_ bytes: UnsafeBufferPointer<UInt8>, addBOS: Bool, parseSpecial: Bool,
                       limit: Int = .max) -> [Int32] {
        var output: [Int32] = []
        output.reserveCapacity(min(bytes.count / 3, limit) + 2)
        if addBOS, let bosID { output.append(bosID) }
        let preTokenizer: PreTokenizer, encoder: BytePairEncoder
        switch algorithm {
        case .bytePair(let bytePairSplit, let bytePairEncoder):
            (preTokenizer, encoder) = (bytePairSplit, bytePairEncoder)
        case .sentencePiece:
            return encodeSentencePiece(bytes, parseSpecial: parseSpecial, limit: limit, into: output)
        case .wordPiece(let normalizer, let wordPiece):
            return encodeWordPiece(bytes, normalizer, wordPiece, parseSpecial: parseSpecial, limit: limit, into: output)
        }

        var characters = PreTokenizer.CharacterSequence()
        var pieces: [Range<Int>] = []
        var scratch = BytePairEncoder.Scratch()
        for fragment in specialTokens.split(bytes, parseSpecial: parseSpecial) {
            switch fragment {
            case .token(let id):
                output.append(id)
                if output.count > limit { return output }
            case .text(let range):
                characters.load(bytes, range: range)
                pieces.removeAll(keepingCapacity: true)
                preTokenizer.split(characters, into: &pieces)
                let offsets = characters.byteOffsets
                for piece in pieces {
                    let byteRange = offsets[piece.lowerBound]..<offsets[piece.upperBound]
                    encoder.encode(UnsafeBufferPointer(rebasing: bytes[byteRange]), scratch: &scratch, into: &output)
                    if output.count > limit { return output }
                }
            }
        }
        return output
    }

    /// The SentencePiece path, as llama.cpp's `tokenize` for SPM: every text
    /// fragment gets "▁" for each space, and one "▁" in front when
    /// `addSpacePrefix` and it starts the input or follows a special token.
    private func encodeSentencePiece(_ bytes: UnsafeBufferPointer<UInt8>, parseSpecial: Bool, limit: Int,
                                     into output: [Int32]) -> [Int32] {
        guard case .sentencePiece(let encoder, let addSpacePrefix) = algorithm else { return output }
        var output = output
        var escaped: [UInt8] = []
        var scratch = SentencePieceEncoder.Scratch()
        var previousIsSpecial = true
        for fragment in specialTokens.split(bytes, parseSpecial: parseSpecial) {
            switch fragment {
            case .token(let id):
                output.append(id)
                previousIsSpecial = true
            case .text(let range):
                escaped.removeAll(keepingCapacity: true)
                if addSpacePrefix && previousIsSpecial { escaped += Self.spaceMarker }
                for byte in bytes[range] {
                    if byte == UInt8(ascii: " ") { escaped += Self.spaceMarker } else { escaped.append(byte) }
                }
                escaped.withUnsafeBufferPointer { encoder.encode($0, scratch: &scratch, into: &output) }
                previousIsSpecial = false
            }
            if output.count > limit { return output }
        }
        return output
    }

    /// U+2581 "▁", SentencePiece's spelling of a space.
    static let spaceMarker: [UInt8] = [0xE2, 0x96, 0x81]

    // MARK: - Building

    /// Texts that mark the end of a turn or of a document in common models
    /// (the subset of llama.cpp's list that is not model-specific).
    static let endOfGenerationTexts = [
        "<|endoftext|>", "<|im_end|>", "<|eot_id|>", "<|eom_id|>", "<|end|>", "<|end_of_text|>",
        "<end_of_turn>", "<|return|>", "<|call|>", "<EOT>", "_<EOT>", "<end_of_utterance>",
    ]

    private static func readTypes(_ values: [Int32]?, tokenCount: Int) throws -> [TokenType] {
        guard let values else { return [TokenType](repeating: .normal, count: tokenCount) }
        guard values.count == tokenCount else {
            throw SwiftletError.invalidFile(
                "tokenizer.ggml.token_type has \(values.count) entries for \(tokenCount) tokens")
        }
        return try values.enumerated().map { id, value in
            guard let type = TokenType(rawValue: value) else {
                throw SwiftletError.invalidFile("token \(id) has unknown token type \(value)")
            }
            return type
        }
    }

    /// Every token's raw bytes, concatenated, and where each starts.
    private static func rawBytes(_ tokens: [String], _ types: [TokenType]) -> ([UInt8], [Int]) {
        var storage: [UInt8] = []
        var offsets: [Int] = []
        offsets.reserveCapacity(tokens.count + 1)
        for (id, token) in tokens.enumerated() {
            offsets.append(storage.count)
            if types[id].isStoredLiterally {
                storage.append(contentsOf: token.utf8)
                continue
            }
            for scalar in token.unicodeScalars {
                if let byte = ByteLevelMapping.byte(for: scalar) {
                    storage.append(byte)
                } else {
                    // Not a byte-level character: keep it as its own UTF-8,
                    // the only reading that loses nothing.
                    UTF8.encode(scalar) { storage.append($0) }
                }
            }
        }
        offsets.append(storage.count)
        return (storage, offsets)
    }

    /// Every token's bytes for a SentencePiece vocabulary, as llama.cpp's
    /// `token_to_piece`: normal tokens with "▁" back to a space, byte tokens
    /// `<0xNN>` as their byte, every other type as its literal text.
    private static func sentencePieceBytes(_ tokens: [String], _ types: [TokenType]) -> ([UInt8], [Int]) {
        var storage: [UInt8] = []
        var offsets: [Int] = []
        offsets.reserveCapacity(tokens.count + 1)
        for (id, token) in tokens.enumerated() {
            offsets.append(storage.count)
            let text = Array(token.utf8)
            switch types[id] {
            case .normal:
                var index = 0
                while index < text.count {
                    if index + 3 <= text.count && text[index..<index + 3].elementsEqual(spaceMarker) {
                        storage.append(UInt8(ascii: " "))
                        index += 3
                    } else {
                        storage.append(text[index])
                        index += 1
                    }
                }
            case .byte:
                if text.count == 6, let byte = UInt8(String(decoding: text[3..<5], as: UTF8.self), radix: 16) {
                    storage.append(byte)
                } else {
                    storage += text
                }
            default:
                storage += text
            }
        }
        offsets.append(storage.count)
        return (storage, offsets)
    }

    /// The merge table. Each merge is "LEFT RIGHT", split at the first space
    /// after the first byte (as llama.cpp does), and both halves and their
    /// concatenation must be tokens (HF tokenizers rejects the file otherwise).
    private static func readMerges(_ merges: [String], _ index: TokenTextIndex) throws -> MergeTable {
        var table = MergeTable(expectedCount: merges.count)
        var joined: [UInt8] = []
        for (rank, merge) in merges.enumerated() {
            var contiguous = merge  // withUTF8 needs a mutable copy (it may make the string contiguous)
            try contiguous.withUTF8 { bytes in
                guard bytes.count >= 3, let space = bytes[1...].firstIndex(of: UInt8(ascii: " ")),
                      space + 1 < bytes.count else {
                    throw SwiftletError.invalidFile("merge \(rank) \"\(merge)\" is not two tokens separated by a space")
                }
                let left = UnsafeBufferPointer(rebasing: bytes[..<space])
                let right = UnsafeBufferPointer(rebasing: bytes[(space + 1)...])
                joined.removeAll(keepingCapacity: true)
                joined.append(contentsOf: left)
                joined.append(contentsOf: right)
                guard let leftID = index.find(left), let rightID = index.find(right),
                      let mergedID = index.find(joined) else {
                    throw SwiftletError.invalidFile("merge \(rank) \"\(merge)\" names a token that is not in the vocabulary")
                }
                table.insert(left: leftID, right: rightID, rank: Int32(rank), merged: mergedID)
            }
        }
        return table
    }
}
