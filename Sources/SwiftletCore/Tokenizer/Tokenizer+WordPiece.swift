/// BERT's WordPiece tokenizer inside `Tokenizer`: the encoding path and the
/// one builder both sources (tokenizer.json, GGUF "bert") end in.
extension Tokenizer {
    /// Builds a WordPiece tokenizer from its vocabulary as Hugging Face spells
    /// it: word-start pieces bare ("play"), continuations with
    /// `continuationPrefix` ("##ing"), control tokens literally ("[CLS]").
    /// Decoding gives a word-start piece a leading space and a continuation
    /// none, so pieces streamed one by one read as the text.
    /// - Throws: `.invalidFile` for an empty or duplicate vocabulary entry, an
    ///   unknown id or a BOS/EOS id outside the vocabulary.
    convenience init(wordPieceVocabulary vocabulary: [String], types: [TokenType], normalizer: BertNormalizer,
                     unknownID: Int32, continuationPrefix: String = "##", maximumCharactersPerWord: Int = 100,
                     bosID: Int32?, eosID: Int32?, addBOS: Bool, addEOS: Bool, source: String) throws {
        guard !vocabulary.isEmpty, vocabulary.count < Int(Int32.max), types.count == vocabulary.count else {
            throw SwiftletError.invalidFile("\(source): a vocabulary of \(vocabulary.count) tokens with \(types.count) types")
        }
        for (role, id) in [("unknown", Optional(unknownID)), ("BOS", bosID), ("EOS", eosID)] {
            if let id, id < 0 || Int(id) >= vocabulary.count {
                throw SwiftletError.invalidFile("\(source): the \(role) token id \(id) is outside the vocabulary of \(vocabulary.count) tokens")
            }
        }
        guard maximumCharactersPerWord > 0 else {
            throw SwiftletError.invalidFile("\(source): max_input_chars_per_word is \(maximumCharactersPerWord)")
        }

        let prefix = Array(continuationPrefix.utf8)
        var text: [UInt8] = [], textOffsets: [Int] = []
        var storage: [UInt8] = [], offsets: [Int] = []
        textOffsets.reserveCapacity(vocabulary.count + 1)
        offsets.reserveCapacity(vocabulary.count + 1)
        for (id, token) in vocabulary.enumerated() {
            let bytes = Array(token.utf8)
            guard !bytes.isEmpty else { throw SwiftletError.invalidFile("\(source): token \(id) is empty") }
            textOffsets.append(text.count)
            text += bytes
            offsets.append(storage.count)
            if types[id].isStoredLiterally {
                storage += bytes
            } else if !prefix.isEmpty && bytes.starts(with: prefix) {
                storage += bytes[prefix.count...]
            } else {
                storage.append(UInt8(ascii: " "))
                storage += bytes
            }
        }
        textOffsets.append(text.count)
        offsets.append(storage.count)
        let index = TokenTextIndex(text: text, offsets: textOffsets)
        if let duplicate = index.firstDuplicate {
            throw SwiftletError.invalidFile("\(source): token \(duplicate) (\"\(vocabulary[Int(duplicate)])\") appears twice in the vocabulary")
        }

        let encoder = WordPieceEncoder(index: index, continuationPrefix: prefix, unknownID: unknownID,
                                       maximumCharactersPerWord: maximumCharactersPerWord)
        self.init(algorithm: .wordPiece(normalizer, encoder), types: types, storage: storage, offsets: offsets,
                  bosID: bosID, eosID: eosID, addBOS: addBOS, addEOS: addEOS)
    }

    /// The WordPiece path: special tokens are cut out of the raw text (HF
    /// matches its special added tokens before normalizing), then each text
    /// fragment is normalized, split into words, and each word encoded.
    func encodeWordPiece(_ bytes: UnsafeBufferPointer<UInt8>, _ normalizer: BertNormalizer, _ encoder: WordPieceEncoder,
                         parseSpecial: Bool, limit: Int, into output: [Int32]) -> [Int32] {
        var output = output
        var scalars: [Unicode.Scalar] = []
        var words: [Range<Int>] = []
        var scratch = WordPieceEncoder.Scratch()
        for fragment in specialTokens.split(bytes, parseSpecial: parseSpecial) {
            switch fragment {
            case .token(let id):
                output.append(id)
            case .text(let range):
                scalars.removeAll(keepingCapacity: true)
                words.removeAll(keepingCapacity: true)
                normalizer.normalize(bytes, range: range, into: &scalars)
                BertPreTokenizer.split(scalars, into: &words)
                for word in words {
                    encoder.encode(scalars[word], scratch: &scratch, into: &output)
                    if output.count > limit { return output }
                }
            }
            if output.count > limit { return output }
        }
        return output
    }
}
