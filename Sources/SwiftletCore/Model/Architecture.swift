/// What an architecture file provides: how its GGUF metadata keys become a
/// TransformerConfig and how its tensor names become TransformerWeights.
/// Nothing else differs between architectures: the forward pass is one
/// implementation (Transformer) parameterised by the config.
protocol Architecture: Sendable {
    /// `general.architecture` as llama.cpp's converters write it.
    static var name: String { get }
    static func config(_ metadata: ArchitectureMetadata, vocabularySize: Int) throws -> TransformerConfig
    static func weights(_ config: TransformerConfig, _ tensors: inout WeightLoader) throws -> TransformerWeights
}

/// Every architecture this build runs, by `general.architecture`.
enum Architectures {
    static let all: [any Architecture.Type] = [Llama.self, Qwen2.self, GPT2.self, Gemma3.self, Bert.self]

    static var names: [String] { all.map { $0.name } }

    static func named(_ name: String) -> (any Architecture.Type)? { all.first { $0.name == name } }
}

/// An architecture's metadata keys (`<architecture>.<name>`), read with the
/// errors every architecture wants: a missing required key is NOT_FOUND, a
/// key of the wrong type INVALID_FILE.
struct ArchitectureMetadata {
    let file: any ModelFile
    let prefix: String

    func integer(_ name: String, default fallback: Int? = nil) throws -> Int {
        let key = "\(prefix).\(name)"
        guard let value = file.metadata(key) else {
            if let fallback { return fallback }
            throw SwiftletError.notFound("missing metadata key \(key)")
        }
        guard let number = value.asInt else { throw SwiftletError.invalidFile("metadata \(key) is not an integer") }
        return number
    }

    func real(_ name: String, default fallback: Float) throws -> Float {
        let key = "\(prefix).\(name)"
        guard let value = file.metadata(key) else { return fallback }
        guard let number = value.asFloat else { throw SwiftletError.invalidFile("metadata \(key) is not a number") }
        return number
    }

    func string(_ name: String) throws -> String? {
        let key = "\(prefix).\(name)"
        guard let value = file.metadata(key) else { return nil }
        guard let text = value.asString else { throw SwiftletError.invalidFile("metadata \(key) is not a string") }
        return text
    }
}
