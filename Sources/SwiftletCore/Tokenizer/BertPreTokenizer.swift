/// BERT's pre-tokenizer (HF `pre_tokenizers::BertPreTokenizer`): words are
/// separated by whitespace, and every punctuation character is a word of its
/// own ("don't" → "don", "'", "t"). Runs on normalized text.
enum BertPreTokenizer {
    /// The words of `scalars`, as index ranges, appended to `words`.
    static func split(_ scalars: [Unicode.Scalar], into words: inout [Range<Int>]) {
        var wordStart = 0
        for (index, scalar) in scalars.enumerated() {
            if BertNormalizer.isWhitespace(scalar) {
                if wordStart < index { words.append(wordStart..<index) }
                wordStart = index + 1
            } else if isPunctuation(scalar) {
                if wordStart < index { words.append(wordStart..<index) }
                words.append(index..<index + 1)
                wordStart = index + 1
            }
        }
        if wordStart < scalars.count { words.append(wordStart..<scalars.count) }
    }

    /// HF's `is_bert_punc`: ASCII punctuation (which includes symbols such
    /// as "$", "+", "^" that Unicode does not call punctuation) or any
    /// Unicode P* category.
    static func isPunctuation(_ scalar: Unicode.Scalar) -> Bool {
        if scalar.isASCII {
            switch scalar.value {
            case 0x21...0x2F, 0x3A...0x40, 0x5B...0x60, 0x7B...0x7E: return true
            default: return false
            }
        }
        return PreTokenizer.CharacterClass.isPunctuation(scalar)
    }
}
