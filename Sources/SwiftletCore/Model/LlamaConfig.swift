/// The hyperparameters of a `llama` model, read from its GGUF metadata
/// (`llama.*` keys) and validated in one place.
public struct LlamaConfig: Sendable, Equatable {
    public var embeddingLength: Int
    public var layerCount: Int
    public var headCount: Int
    public var kvHeadCount: Int
    public var headDimension: Int
    public var feedForwardLength: Int
    public var contextLength: Int
    public var vocabularySize: Int
    public var ropeFrequencyBase: Float
    public var rmsNormEpsilon: Float

    /// Query heads that share one key/value head (grouped-query attention).
    public var headsPerKVHead: Int { headCount / kvHeadCount }
    public var queryLength: Int { headCount * headDimension }
    public var kvLength: Int { kvHeadCount * headDimension }

    /// Limits far above any real model, so absurd values in a file are refused
    /// before any buffer is sized from them.
    static let maximumDimension = 1 << 20
    static let maximumLayers = 4096

    public init(file: GGUFFile, vocabularySize: Int) throws {
        let arch = "llama"
        func integer(_ name: String, default fallback: Int? = nil) throws -> Int {
            let key = "\(arch).\(name)"
            guard let value = file.metadata(key) else {
                if let fallback { return fallback }
                throw SwiftletError.notFound("missing metadata key \(key)")
            }
            guard let number = value.asInt else { throw SwiftletError.invalidFile("metadata \(key) is not an integer") }
            return number
        }
        func real(_ name: String, default fallback: Float) throws -> Float {
            let key = "\(arch).\(name)"
            guard let value = file.metadata(key) else { return fallback }
            guard let number = value.asFloat else { throw SwiftletError.invalidFile("metadata \(key) is not a number") }
            return number
        }
        embeddingLength = try integer("embedding_length")
        layerCount = try integer("block_count")
        headCount = try integer("attention.head_count")
        kvHeadCount = try integer("attention.head_count_kv", default: headCount)
        feedForwardLength = try integer("feed_forward_length")
        contextLength = try integer("context_length")
        headDimension = headCount > 0 ? embeddingLength / headCount : 0
        headDimension = try integer("attention.key_length", default: headDimension)
        self.vocabularySize = vocabularySize
        // llama.cpp's defaults for keys older files omit.
        ropeFrequencyBase = try real("rope.freq_base", default: 10_000)
        rmsNormEpsilon = try real("attention.layer_norm_rms_epsilon", default: 1e-5)
        try validate(ropeDimensions: try integer("rope.dimension_count", default: headDimension),
                     valueLength: try integer("attention.value_length", default: headDimension))
    }

    private func validate(ropeDimensions: Int, valueLength: Int) throws {
        func check(_ ok: Bool, _ message: @autoclosure () -> String) throws {
            if !ok { throw SwiftletError.invalidFile(message()) }
        }
        for (name, value) in [("embedding_length", embeddingLength), ("feed_forward_length", feedForwardLength),
                              ("attention.head_count", headCount), ("attention.head_count_kv", kvHeadCount),
                              ("context_length", contextLength), ("vocabulary size", vocabularySize),
                              ("head dimension", headDimension)] {
            try check(value > 0 && value <= Self.maximumDimension, "llama.\(name) = \(value) is out of range")
        }
        try check(layerCount > 0 && layerCount <= Self.maximumLayers, "llama.block_count = \(layerCount) is out of range")
        try check(headCount % kvHeadCount == 0,
                  "head_count \(headCount) is not a multiple of head_count_kv \(kvHeadCount)")
        try check(headDimension % 2 == 0, "head dimension \(headDimension) is odd; RoPE rotates pairs")
        try check(ropeFrequencyBase.isFinite && ropeFrequencyBase > 0, "llama.rope.freq_base must be positive")
        try check(rmsNormEpsilon.isFinite && rmsNormEpsilon >= 0, "the RMS norm epsilon must be non-negative")
        guard ropeDimensions == headDimension, valueLength == headDimension else {
            throw SwiftletError.unsupported("partial RoPE or a value length other than the head dimension is not supported")
        }
        // Lengths that are the input of a matrix product must be whole Q8 blocks.
        for (name, value) in [("embedding_length", embeddingLength), ("feed_forward_length", feedForwardLength),
                              ("query length", queryLength)] {
            guard value % Q8Block.valueCount == 0 else {
                throw SwiftletError.unsupported("\(name) \(value) is not a multiple of \(Q8Block.valueCount)")
            }
        }
    }
}
