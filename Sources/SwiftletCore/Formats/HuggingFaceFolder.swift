import Glibc

/// A Hugging Face checkpoint folder — config.json, *.safetensors (one file or
/// shards listed by model.safetensors.index.json), tokenizer.json, and the
/// sentence-transformers files when present — presented as the GGUF file
/// llama.cpp's converter (convert_hf_to_gguf.py) would make of it: the same
/// metadata keys, the same tensor names, the tensors' bytes mapped from the
/// safetensors files as they are (F32, F16, BF16). The architectures, the
/// weight loader and `swiftlet convert` then need no second vocabulary.
///
/// Supported: `model_type` "bert" (BertModel: all-MiniLM-L6-v2 and its kin).
/// Errors: .notFound for a missing file, .invalidFile for a malformed one or
/// values of the wrong type, .unsupported for another model type, activation
/// or position embedding, a tensor with no place in the model, or a
/// sentence-transformers pooling other than mean, CLS and last token.
public final class HuggingFaceFolder: ModelFile {
    public let path: String
    public let metadataKeys: [String]
    public let tensors: [GGUFTensorInfo]
    /// The tokenizer tokenizer.json describes, with its own normalizer settings
    /// (the GGUF keys can only say "bert", which llama.cpp reads as uncased).
    public let tokenizer: Tokenizer
    private let metadataValues: [String: GGUFValue]
    private let checkpoint: SafeTensorsCheckpoint
    /// The safetensors tensor behind each of `tensors`, by GGUF name.
    private let sources: [String: SafeTensorsTensor]
    private let tensorIndex: [String: GGUFTensorInfo]

    public init(path folder: String) throws {
        path = folder
        let config = try Self.readJSON(folder, "config.json")
        guard let modelType = config["model_type"]?.string else {
            throw SwiftletError.invalidFile("\(folder)/config.json has no model_type")
        }
        guard modelType == "bert" else {
            throw SwiftletError.unsupported("model_type '\(modelType)' in \(folder)/config.json is not supported (supported: bert)")
        }
        let tokenizerJSON = try Self.readJSON(folder, "tokenizer.json")
        checkpoint = try SafeTensorsCheckpoint(folder: folder)

        var entries: [(String, GGUFValue)] = []
        func integer(_ key: String, default fallback: Int? = nil) throws -> Int {
            guard let value = config[key], !value.isNull else {
                if let fallback { return fallback }
                throw SwiftletError.notFound("\(folder)/config.json has no \(key)")
            }
            guard let number = value.integer, number >= 0, number <= Int(UInt32.max) else {
                throw SwiftletError.invalidFile("\(key) in \(folder)/config.json is not a count")
            }
            return number
        }
        let activation = config["hidden_act"]?.string ?? "gelu"
        guard activation == "gelu" else {
            throw SwiftletError.unsupported("hidden_act '\(activation)' in \(folder)/config.json is not supported (supported: gelu)")
        }
        let positions = config["position_embedding_type"]?.string ?? "absolute"
        guard positions == "absolute" else {
            throw SwiftletError.unsupported("position_embedding_type '\(positions)' is not supported (supported: absolute)")
        }
        let epsilon = config["layer_norm_eps"].map { $0.double } ?? 1e-12
        guard let epsilon else { throw SwiftletError.invalidFile("layer_norm_eps in \(folder)/config.json is not a number") }
        let heads = try integer("num_attention_heads")
        let name = folder.split(separator: "/").last.map(String.init) ?? folder
        entries += [
            ("general.architecture", .string("bert")),
            ("general.name", .string(name)),
            ("bert.context_length", .uint32(UInt32(try integer("max_position_embeddings")))),
            ("bert.embedding_length", .uint32(UInt32(try integer("hidden_size")))),
            ("bert.feed_forward_length", .uint32(UInt32(try integer("intermediate_size")))),
            ("bert.block_count", .uint32(UInt32(try integer("num_hidden_layers")))),
            ("bert.attention.head_count", .uint32(UInt32(heads))),
            ("bert.attention.layer_norm_epsilon", .float32(Float(epsilon))),
            ("bert.attention.causal", .bool(false)),
            ("bert.pooling_type", .uint32(UInt32(try Self.pooling(folder)))),
        ]
        if let length = try Self.maximumSequenceLength(folder) {
            entries.append((LanguageModel.maximumSequenceLengthKey, .uint32(UInt32(length))))
        }

        var infos: [GGUFTensorInfo] = []
        var sources: [String: SafeTensorsTensor] = [:]
        var matrixTypes: Set<GGMLType> = []
        for tensor in checkpoint.tensors {
            guard let ggufName = try Self.bertTensorName(tensor.name) else { continue }
            guard let type = tensor.dtype.ggmlType else {
                throw SwiftletError.unsupported("tensor \(tensor.name) is \(tensor.dtype.rawValue); weights must be F32, F16 or BF16")
            }
            guard (1...4).contains(tensor.shape.count), !tensor.shape.contains(0) else {
                throw SwiftletError.invalidFile("tensor \(tensor.name) has shape \(tensor.shape)")
            }
            guard sources[ggufName] == nil else {
                throw SwiftletError.invalidFile("tensors \(tensor.name) and another both map to \(ggufName)")
            }
            if tensor.shape.count >= 2 { matrixTypes.insert(type) }
            infos.append(GGUFTensorInfo(name: ggufName, dimensions: tensor.ggmlDimensions, type: type,
                                        offset: tensor.offset, byteCount: tensor.byteCount,
                                        elementCount: tensor.elementCount))
            sources[ggufName] = tensor
        }
        // llama.cpp's general.file_type: all F32, mostly F16 or mostly BF16.
        let fileType: UInt32 = matrixTypes == [.f16] ? 1 : matrixTypes == [.bf16] ? 32 : 0
        entries.append(("general.file_type", .uint32(fileType)))
        let (tokenizer, tokenizerEntries) = try Tokenizer.withGGUFMetadata(
            huggingFace: tokenizerJSON, tokenTypeCount: try integer("type_vocab_size", default: 2))
        self.tokenizer = tokenizer
        entries += tokenizerEntries

        tensors = infos
        tensorIndex = Dictionary(infos.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        self.sources = sources
        metadataKeys = entries.map { $0.0 }
        metadataValues = Dictionary(entries, uniquingKeysWith: { first, _ in first })
    }

    public func metadata(_ key: String) -> GGUFValue? { metadataValues[key] }

    public func metadata(at index: Int) -> (key: String, value: GGUFValue)? {
        guard index >= 0, index < metadataKeys.count else { return nil }
        return (metadataKeys[index], metadataValues[metadataKeys[index]]!)
    }

    public func tensor(named name: String) -> GGUFTensorInfo? { tensorIndex[name] }

    public func data(of tensor: GGUFTensorInfo) -> UnsafeRawBufferPointer {
        guard let source = sources[tensor.name] else { return UnsafeRawBufferPointer(start: nil, count: 0) }
        return source.bytes
    }

    /// Whether `path` names a directory (a checkpoint folder rather than a GGUF file).
    public static func isFolder(_ path: String) -> Bool {
        var status = stat()
        return stat(path, &status) == 0 && (status.st_mode & S_IFMT) == S_IFDIR
    }

    // MARK: - The converter's mapping

    /// The GGUF name llama.cpp's converter gives a BertModel tensor; nil for
    /// the tensors it leaves out (position ids, the pooler, the pre-training heads).
    static func bertTensorName(_ original: String) throws -> String? {
        var name = original
        if name.hasPrefix("bert.") { name.removeFirst(5) }
        if name.hasSuffix(".gamma") { name = String(name.dropLast(6)) + ".weight" }
        if name.hasSuffix(".beta") { name = String(name.dropLast(5)) + ".bias" }
        if name == "embeddings.position_ids" || name.hasPrefix("pooler.") || name.hasPrefix("cls.") { return nil }
        let parts = name.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        guard let kind = parts.last, kind == "weight" || kind == "bias" else {
            throw SwiftletError.unsupported("tensor \(original) has no place in a bert model")
        }
        let module = parts.dropLast().joined(separator: ".")
        let embeddings = ["embeddings.word_embeddings": "token_embd", "embeddings.position_embeddings": "position_embd",
                          "embeddings.token_type_embeddings": "token_types", "embeddings.LayerNorm": "token_embd_norm"]
        if let mapped = embeddings[module] { return "\(mapped).\(kind)" }
        let blocks = ["attention.self.query": "attn_q", "attention.self.key": "attn_k", "attention.self.value": "attn_v",
                      "attention.output.dense": "attn_output", "attention.output.LayerNorm": "attn_output_norm",
                      "intermediate.dense": "ffn_up", "output.dense": "ffn_down", "output.LayerNorm": "layer_output_norm"]
        if parts.count >= 5, parts[0] == "encoder", parts[1] == "layer", let layer = Int(parts[2]), layer >= 0,
           String(layer) == parts[2], let mapped = blocks[parts[3..<parts.count - 1].joined(separator: ".")] {
            return "blk.\(layer).\(mapped).\(kind)"
        }
        throw SwiftletError.unsupported("tensor \(original) has no place in a bert model")
    }

    // MARK: - The sentence-transformers files

    /// llama.cpp's pooling_type from the Pooling module modules.json names
    /// (default folder 1_Pooling): mean when there is none, as for a plain BERT.
    static func pooling(_ folder: String) throws -> Int {
        var poolingFolder = "1_Pooling"
        if fileExists(folder + "/modules.json") {
            let modules = try readJSON(folder, "modules.json")
            guard let list = modules.array else { throw SwiftletError.invalidFile("\(folder)/modules.json is not a list") }
            for module in list where module["type"]?.string == "sentence_transformers.models.Pooling" {
                guard let path = module["path"]?.string, !path.isEmpty, !path.hasPrefix("/"),
                      !path.split(separator: "/").contains("..") else {
                    throw SwiftletError.invalidFile("\(folder)/modules.json names a Pooling path outside the folder")
                }
                poolingFolder = path
            }
        }
        guard fileExists("\(folder)/\(poolingFolder)/config.json") else { return Bert.meanPooling }
        let config = try readJSON(folder, poolingFolder + "/config.json")
        let modes = ["pooling_mode_cls_token": Bert.clsPooling, "pooling_mode_mean_tokens": Bert.meanPooling,
                     "pooling_mode_lasttoken": Bert.lastPooling]
        for key in ["pooling_mode_max_tokens", "pooling_mode_mean_sqrt_len_tokens", "pooling_mode_weightedmean_tokens"]
        where config[key]?.bool == true {
            throw SwiftletError.unsupported("\(poolingFolder)/config.json asks for \(key), which is not supported (mean, cls, last token)")
        }
        let chosen = modes.filter { config[$0.key]?.bool == true }
        guard chosen.count <= 1 else {
            throw SwiftletError.unsupported("\(poolingFolder)/config.json combines several pooling modes")
        }
        return chosen.first?.value ?? Bert.meanPooling
    }

    /// sentence_bert_config.json's max_seq_length, if the folder has one.
    static func maximumSequenceLength(_ folder: String) throws -> Int? {
        guard fileExists(folder + "/sentence_bert_config.json") else { return nil }
        let config = try readJSON(folder, "sentence_bert_config.json")
        guard let value = config["max_seq_length"], !value.isNull else { return nil }
        guard let length = value.integer, length >= 2, length <= Int(UInt32.max) else {
            throw SwiftletError.invalidFile("max_seq_length in \(folder)/sentence_bert_config.json must be at least 2")
        }
        return length
    }

    static func fileExists(_ path: String) -> Bool {
        var status = stat()
        return stat(path, &status) == 0 && (status.st_mode & S_IFMT) == S_IFREG
    }

    /// The JSON document `folder/name`, at most 64 MiB (tokenizer.json of a large vocabulary is a few).
    static func readJSON(_ folder: String, _ name: String) throws -> JSONValue {
        let path = "\(folder)/\(name)"
        guard fileExists(path) else { throw SwiftletError.notFound("\(folder) has no \(name)") }
        let file = try ReadOnlyMappedFile(path: path)
        guard file.byteCount <= 64 << 20 else { throw SwiftletError.invalidFile("\(path) is larger than 64 MiB") }
        return try JSONValue.parse(file.bytes, what: path)
    }
}
