/// A loaded model: the mapped GGUF file, its configuration, weights, tokenizer
/// and chat template. Immutable after loading, so any number of threads and
/// contexts may share it.
public final class LanguageModel: @unchecked Sendable {
    public let file: GGUFFile
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
    /// Weights stored in the file, counted element by element.
    public let parameterCount: UInt64
    let transformer: Transformer
    /// Holds the weights converted at load (F32/F16/BF16 matrices).
    private let arena: Arena

    /// Architectures this build can run (DESIGN: one file per architecture,
    /// Model/Architectures/).
    public static var supportedArchitectures: [String] { Architectures.names }

    /// Loads a GGUF file. `progress` hears 0 first and 1 last; the tokenizer
    /// takes the first tenth, the weights the rest, by bytes.
    public init(path: String, loadThreads: Int, progress: LoadProgress = LoadProgress()) throws {
        try progress(0)
        file = try GGUFFile(path: path)
        guard let architecture = file.metadata("general.architecture")?.asString else {
            throw SwiftletError.notFound("missing metadata key general.architecture")
        }
        guard let description = Architectures.named(architecture) else {
            throw SwiftletError.unsupported("unsupported architecture '\(architecture)' (supported: "
                                            + Architectures.names.joined(separator: ", ") + ")")
        }
        self.architecture = architecture
        name = file.metadata("general.name")?.asString ?? ""
        tokenizer = try Tokenizer(gguf: file)
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
        arena = try Arena()
        let pool = try WorkerPool(threadCount: loadThreads)
        var tensors = WeightLoader(file: file, arena: arena, pool: pool, progress: progress, progressRange: 0.1...1)
        transformer = Transformer(config: config, weights: try description.weights(config, &tensors))
        try progress(1)
    }
}
