/// `qwen2` (Qwen2, Qwen2.5): the llama block with biases on the query, key
/// and value projections and RoPE on NEOX pairs (x[i], x[i + d/2]).
enum Qwen2: Architecture {
    static let name = "qwen2"

    static func config(_ metadata: ArchitectureMetadata, vocabularySize: Int) throws -> TransformerConfig {
        try Llama.ropeModelConfig(metadata, vocabularySize: vocabularySize, pairing: .halves)
    }

    static func weights(_ c: TransformerConfig, _ tensors: inout WeightLoader) throws -> TransformerWeights {
        try Llama.ropeModelWeights(c, &tensors, attentionBiases: true)
    }
}
