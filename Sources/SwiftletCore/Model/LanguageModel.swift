import Synchronization

/// A loaded model: the mapped GGUF file, its configuration, weights, tokenizer
/// and chat template. Immutable after loading, so any number of threads and
/// contexts may share it.
public final class LanguageModel: @unchecked Sendable {
    public let file: any ModelFile
    public let architecture: String
    public let name: String
    public let config: TransformerConfig
    public let tokenizer: Tokenizer
    /// `tokenizer.chat_template` (when the file has none, a fallback chosen by
    /// the vocabulary: see `fallbackChatTemplate`), parsed at load. A template
    /// that does not parse is kept with its error: the model loads, and
    /// rendering with it throws that error (`.template`).
    public let chatTemplate: ChatTemplate
    /// Whether the file carries a chat template (a base model usually does not).
    public let hasOwnChatTemplate: Bool
    /// The most tokens an embedding reads of a text, special ones included
    /// (sentence_bert_config.json's max_seq_length where the files give it,
    /// else the trained context); longer texts are truncated as
    /// sentence-transformers truncates them.
    public let maximumSequenceLength: Int
    /// Weights stored in the file, counted element by element.
    public let parameterCount: UInt64
    let transformer: Transformer
    /// Holds the weights converted at load (F32/F16/BF16 matrices).
    private let arena: Arena
    /// `identity`, once computed (rendering the metadata takes a few ms).
    private let identityCache = Mutex<UInt64?>(nil)

    /// A hash of the file's metadata and tensor infos: what a saved context
    /// state records to refuse loading into another model.
    public var identity: UInt64 {
        identityCache.withLock { cached in
            if let cached { return cached }
            let value = computeIdentity()
            cached = value
            return value
        }
    }

    /// Architectures this build can run (DESIGN: one file per architecture,
    /// Model/Architectures/).
    public static var supportedArchitectures: [String] { Architectures.names }

    /// Loads a GGUF file, or a Hugging Face checkpoint folder (see
    /// HuggingFaceFolder) when `path` is a directory. `progress` hears 0 first and 1 last; the tokenizer
    /// takes the first tenth, the weights the rest, by bytes.
    public init(path: String, loadThreads: Int, progress: LoadProgress = LoadProgress()) throws {
        try progress(0)
        let folder = HuggingFaceFolder.isFolder(path) ? try HuggingFaceFolder(path: path) : nil
        file = try folder ?? GGUFFile(path: path)
        guard let architecture = file.metadata("general.architecture")?.asString else {
            throw SwiftletError.notFound("missing metadata key general.architecture")
        }
        guard let description = Architectures.named(architecture) else {
            throw SwiftletError.unsupported("unsupported architecture '\(architecture)' (supported: "
                                            + Architectures.names.joined(separator: ", ") + ")")
        }
        self.architecture = architecture
        name = file.metadata("general.name")?.asString ?? ""
        tokenizer = try folder?.tokenizer ?? Tokenizer(gguf: file)
        try progress(0.1)
        config = try description.config(ArchitectureMetadata(file: file, prefix: architecture),
                                        vocabularySize: tokenizer.vocabularySize)
        if let templateValue = file.metadata("tokenizer.chat_template") {
            guard let source = templateValue.asString else {
                throw SwiftletError.invalidFile("tokenizer.chat_template is not a string")
            }
            chatTemplate = ChatTemplate(keepingErrorsOf: source)
            hasOwnChatTemplate = true
        } else {
            chatTemplate = ChatTemplate(keepingErrorsOf: Self.fallbackChatTemplate(for: tokenizer))
            hasOwnChatTemplate = false
        }
        parameterCount = file.tensors.reduce(0) { $0 + UInt64($1.elementCount) }
        maximumSequenceLength = try Self.maximumSequenceLength(file, trained: config.contextLength)
        arena = try Arena()
        let pool = try WorkerPool(threadCount: loadThreads)
        var tensors = WeightLoader(file: file, arena: arena, pool: pool, progress: progress, progressRange: 0.1...1)
        transformer = Transformer(config: config, weights: try description.weights(config, &tensors))
        try progress(1)
    }
}

extension LanguageModel {
    /// Our own metadata key for sentence-transformers' truncation length
    /// (HuggingFaceFolder sets it; `swiftlet convert` writes it; llama.cpp ignores it).
    static let maximumSequenceLengthKey = "sentence_transformers.max_seq_length"

    static func maximumSequenceLength(_ file: any ModelFile, trained: Int) throws -> Int {
        guard let value = file.metadata(maximumSequenceLengthKey) else { return trained }
        guard let length = value.asInt, length >= 2 else {
            throw SwiftletError.invalidFile("\(maximumSequenceLengthKey) must be an integer of at least 2")
        }
        return min(length, trained)
    }

    /// The tokens that embed a text: the text with special tokens recognised,
    /// truncated so that with the model's sequence start (BOS, [CLS]) and end
    /// ([SEP]) it has at most maximumSequenceLength tokens.
    public func embeddingTokens(_ text: [UInt8]) -> [Int32] {
        let prefix = tokenizer.sequencePrefix, suffix = tokenizer.sequenceSuffix
        let body = tokenizer.encode(text, addBOS: false, parseSpecial: true)
        return prefix + body.prefix(max(0, maximumSequenceLength - prefix.count - suffix.count)) + suffix
    }
}
