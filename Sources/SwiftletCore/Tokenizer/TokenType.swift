extension Tokenizer {
    /// The kind of each vocabulary entry, as stored in `tokenizer.ggml.token_type`
    /// (the numbering is llama.cpp's and GGUF's).
    public enum TokenType: Int32, Sendable {
        case undefined = 0
        /// Ordinary text, stored in byte-level-mapped form.
        case normal = 1
        case unknown = 2
        /// Markers such as BOS, EOS, "<|im_start|>": stored as literal text,
        /// produce no text when decoded.
        case control = 3
        /// Literal text added to the vocabulary by the model author; always split
        /// out of the input whole and decoded as its text.
        case userDefined = 4
        case unused = 5
        case byte = 6

        /// Whether the vocabulary stores this token literally rather than in
        /// GPT-2's byte-to-character form.
        var isStoredLiterally: Bool {
            self == .control || self == .userDefined || self == .unknown
        }
    }
}
