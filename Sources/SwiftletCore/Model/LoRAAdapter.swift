/// A LoRA adapter as llama.cpp's convert_lora_to_gguf writes it: a GGUF file
/// with general.type = "adapter", adapter.type = "lora", the base model's
/// general.architecture, adapter.lora.alpha, and for each adapted base
/// tensor W (named as in the model's GGUF file, e.g. blk.3.attn_q.weight) a
/// pair `W.lora_a` (ggml dims [n_in, r]: r rows of n_in) and `W.lora_b`
/// (dims [r, n_out]: n_out rows of r), so that the adapted product is
/// y = W·x + factor·B·(A·x). Loaded for one model, checked against its
/// tensors, and decoded to fp32 (adapters are small; the base weights stay
/// mapped and shared: nothing is merged into them).
///
/// Adaptable: every block projection (attn_q, attn_k, attn_v, GPT-2's fused
/// attn_qkv, attn_output, ffn_gate, ffn_up, ffn_down) and a separate head
/// (output.weight). Any other tensor an adapter names is an error, never
/// ignored: an adapter applied in part would change the model in a way its
/// author did not train.
public final class LoRAAdapter: @unchecked Sendable {
    /// The model it was loaded for; it applies to that model's contexts only.
    public let model: LanguageModel
    /// adapter.lora.alpha; 0 when the file has none (llama.cpp then applies the
    /// scale alone, without alpha / r).
    public let alpha: Float
    /// The largest rank of its pairs.
    public let rank: Int
    /// The number of base tensors it adapts (lora_a / lora_b pairs).
    public let tensorCount: Int
    /// Per layer, per AdaptedProjection.rawValue: the pair changing that product.
    let blocks: [[LowRankPair?]]
    /// The pair changing the head, if any.
    let head: LowRankPair?
    /// Every pair's A and B values, owned here.
    private let storage: UnsafeMutablePointer<Float>

    /// Loads the adapter at `path` for `model`. Errors: the GGUF reader's
    /// (IO, INVALID_FILE) for a file it cannot read; INVALID_ARGUMENT naming
    /// the file or tensor for an adapter that does not fit the model (not an
    /// adapter, not LoRA, another architecture, a tensor that is not a
    /// lora_a/lora_b, a pair missing its half, a base tensor the model does
    /// not have or that cannot be adapted, rank 0, ranks or shapes that do
    /// not match, non-finite values); UNSUPPORTED for a tensor type other
    /// than F32, F16, BF16 and Q8_0.
    public init(path: String, model: LanguageModel) throws {
        let file = try GGUFFile(path: path)
        func string(_ key: String) throws -> String? {
            guard let value = file.metadata(key) else { return nil }
            guard let text = value.asString else { throw SwiftletError.invalidArgument("\(path): \(key) is not a string") }
            return text
        }
        let type = try string("general.type")
        guard type == "adapter" else {
            throw SwiftletError.invalidArgument("\(path) is not an adapter (general.type is "
                                                + (type.map { "'\($0)'" } ?? "missing") + ", not 'adapter')")
        }
        let adapterType = try string("adapter.type")
        guard adapterType == "lora" else {
            throw SwiftletError.invalidArgument("\(path) is not a LoRA adapter (adapter.type is "
                                                + (adapterType.map { "'\($0)'" } ?? "missing") + ", not 'lora')")
        }
        let architecture = try string("general.architecture")
        guard architecture == model.architecture else {
            throw SwiftletError.invalidArgument("\(path) is an adapter for architecture "
                                                + (architecture.map { "'\($0)'" } ?? "(missing)")
                                                + ", but the model is '\(model.architecture)'")
        }
        var alpha: Float = 0
        if let value = file.metadata("adapter.lora.alpha") {
            guard let number = value.asFloat, number.isFinite else {
                throw SwiftletError.invalidArgument("\(path): adapter.lora.alpha is not a finite number")
            }
            alpha = number
        }
        self.model = model
        self.alpha = alpha

        // Pair the tensors by base name; check every pair against the model before decoding any.
        var halves: [String: (a: GGUFTensorInfo?, b: GGUFTensorInfo?)] = [:]
        for info in file.tensors {
            if info.name.hasSuffix(".lora_a") {
                halves[String(info.name.dropLast(7)), default: (nil, nil)].a = info
            } else if info.name.hasSuffix(".lora_b") {
                halves[String(info.name.dropLast(7)), default: (nil, nil)].b = info
            } else {
                throw SwiftletError.invalidArgument("\(path): tensor \(info.name) is neither a .lora_a nor a .lora_b")
            }
        }
        guard !halves.isEmpty else { throw SwiftletError.invalidArgument("\(path) has no LoRA tensors") }
        typealias Checked = (target: Target, a: GGUFTensorInfo, b: GGUFTensorInfo, rank: Int, inputs: Int, outputs: Int)
        var checked: [Checked] = []
        for base in halves.keys.sorted() {
            guard let a = halves[base]!.a else {
                throw SwiftletError.invalidArgument("\(path): \(base).lora_b has no \(base).lora_a")
            }
            guard let b = halves[base]!.b else {
                throw SwiftletError.invalidArgument("\(path): \(base).lora_a has no \(base).lora_b")
            }
            for info in [a, b] {
                guard [.f32, .f16, .bf16, .q8_0].contains(info.type) else {
                    throw SwiftletError.unsupported("\(path): tensor \(info.name) is \(info.type.name); "
                                                    + "adapter tensors must be F32, F16, BF16 or Q8_0")
                }
                guard info.dimensions.count == 2 else {
                    throw SwiftletError.invalidArgument("\(path): tensor \(info.name) has shape \(info.dimensions), not 2-D")
                }
            }
            let (inputs, rank, rankOfB, outputs) = (a.dimensions[0], a.dimensions[1], b.dimensions[0], b.dimensions[1])
            guard rank > 0, rankOfB > 0 else {
                throw SwiftletError.invalidArgument("\(path): \(base) has rank 0 (\(a.name) \(a.dimensions), "
                                                    + "\(b.name) \(b.dimensions))")
            }
            guard rank == rankOfB else {
                throw SwiftletError.invalidArgument("\(path): the ranks of \(base)'s pair differ (\(a.name) "
                                                    + "\(a.dimensions) has \(rank), \(b.name) \(b.dimensions) has \(rankOfB))")
            }
            let target = try Self.target(of: base, in: model, path: path)
            guard let baseInfo = model.file.tensor(named: base) else {
                throw SwiftletError.invalidArgument("\(path): base tensor \(base) is not in the model")
            }
            guard baseInfo.dimensions.count == 2, inputs == baseInfo.dimensions[0], outputs == baseInfo.dimensions[1]
            else {
                throw SwiftletError.invalidArgument(
                    "\(path): \(base)'s pair (\(a.name) \(a.dimensions), \(b.name) \(b.dimensions)) does not fit "
                    + "the base tensor's shape \(baseInfo.dimensions): expected [\(baseInfo.dimensions.first ?? 0), r] "
                    + "and [r, \(baseInfo.dimensions.last ?? 0)]")
            }
            checked.append((target, a, b, rank, inputs, outputs))
        }

        // Decode every pair into one fp32 block: A (rank × inputs), then Bᵀ
        // (rank × outputs: the second product adds rows of it, see AttachedAdapters).
        let total = checked.reduce(0) { $0 + $1.rank * ($1.inputs + $1.outputs) }
        storage = .allocate(capacity: total)
        var blocks = [[LowRankPair?]](repeating: Array(repeating: nil, count: AdaptedProjection.allCases.count),
                                      count: model.config.layerCount)
        var head: LowRankPair? = nil
        var next = storage
        var failure: SwiftletError? = nil
        for pair in checked where failure == nil {
            let a = next, transposed = next + pair.rank * pair.inputs
            next = transposed + pair.rank * pair.outputs
            var b = [Float](repeating: 0, count: pair.outputs * pair.rank)
            b.withUnsafeMutableBufferPointer { b in
                for (info, values, count) in [(pair.a, a, pair.rank * pair.inputs),
                                              (pair.b, b.baseAddress!, pair.outputs * pair.rank)] {
                    dequantizeRow(type: info.type, source: file.data(of: info).baseAddress!, into: values, count: count)
                    if !UnsafeBufferPointer(start: values, count: count).allSatisfy(\.isFinite) {
                        failure = .invalidArgument("\(path): tensor \(info.name) has a value that is not finite")
                    }
                }
                for row in 0..<pair.outputs {
                    for j in 0..<pair.rank { transposed[j * pair.outputs + row] = b[row * pair.rank + j] }
                }
            }
            let whole = LowRankPair(a: a, bTransposed: transposed, rank: pair.rank, inputs: pair.inputs,
                                    outputs: pair.outputs, stride: pair.outputs)
            switch pair.target {
            case .head: head = whole
            case .block(let layer, let parts):
                for part in parts { blocks[layer][part.projection.rawValue] = whole.rows(part.rows) }
            }
        }
        if let failure {
            storage.deallocate()
            throw failure
        }
        self.blocks = blocks
        self.head = head
        rank = checked.map(\.rank).max()!
        tensorCount = checked.count
    }

    deinit { storage.deallocate() }

    /// Where a base tensor's pair applies.
    private enum Target {
        /// Rows `rows` of the base tensor are `projection`'s (all of them but for a fused QKV).
        case block(layer: Int, [(projection: AdaptedProjection, rows: Range<Int>)])
        case head
    }

    /// The product a base tensor name stands for in `model`, or
    /// INVALID_ARGUMENT for a tensor adapters cannot change.
    private static func target(of base: String, in model: LanguageModel, path: String) throws -> Target {
        let weights = model.transformer.weights
        if base == "output.weight" {
            guard weights.output != nil, model.file.tensor(named: base) != nil else {
                throw SwiftletError.invalidArgument(
                    "\(path): base tensor output.weight is not in the model"
                    + (weights.output == nil ? " (it has no head)" : " (its head is tied to token_embd.weight)"))
            }
            return .head
        }
        let notAdaptable = SwiftletError.invalidArgument(
            "\(path): \(base) cannot be adapted (only the blocks' projections and output.weight can)")
        let parts = base.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 4, parts[0] == "blk", parts[3] == "weight", let layer = Int(parts[1]),
              layer >= 0, layer < weights.blocks.count, String(layer) == parts[1] else { throw notAdaptable }
        let block = weights.blocks[layer]
        switch parts[2] {
        case "attn_q": return .block(layer: layer, [(.query, 0..<block.query.matrix.rows)])
        case "attn_k": return .block(layer: layer, [(.key, 0..<block.key.matrix.rows)])
        case "attn_v": return .block(layer: layer, [(.value, 0..<block.value.matrix.rows)])
        case "attn_qkv":
            // The fused matrix's rows are Q's, then K's, then V's (Projection.rows splits it so).
            let q = block.query.matrix.rows, k = block.key.matrix.rows, v = block.value.matrix.rows
            return .block(layer: layer, [(.query, 0..<q), (.key, q..<q + k), (.value, q + k..<q + k + v)])
        case "attn_output": return .block(layer: layer, [(.attentionOutput, 0..<block.attentionOutput.matrix.rows)])
        case "ffn_gate" where block.gate != nil: return .block(layer: layer, [(.gate, 0..<block.gate!.matrix.rows)])
        case "ffn_up": return .block(layer: layer, [(.up, 0..<block.up.matrix.rows)])
        case "ffn_down": return .block(layer: layer, [(.down, 0..<block.down.matrix.rows)])
        default: throw notAdaptable
        }
    }
}

/// The products of a block an adapter can change.
enum AdaptedProjection: Int, CaseIterable {
    case query, key, value, attentionOutput, gate, up, down
}

/// ΔW = B·A for one product: A is rank × inputs, row-major; B is held
/// transposed, Bᵀ rank × outputs with row stride `stride` (a part of a fused
/// QKV is a column range of the whole Bᵀ); fp32, owned by their LoRAAdapter.
struct LowRankPair {
    let a: UnsafePointer<Float>
    let bTransposed: UnsafePointer<Float>
    let rank: Int
    let inputs: Int
    let outputs: Int
    let stride: Int

    init(a: UnsafePointer<Float>, bTransposed: UnsafePointer<Float>, rank: Int, inputs: Int, outputs: Int,
         stride: Int) {
        (self.a, self.bTransposed, self.rank, self.inputs, self.outputs, self.stride) =
            (a, bTransposed, rank, inputs, outputs, stride)
    }

    /// The pair of outputs `range` of the product (a part of a fused QKV): A shared, those columns of Bᵀ.
    func rows(_ range: Range<Int>) -> LowRankPair {
        LowRankPair(a: a, bTransposed: bTransposed + range.lowerBound, rank: rank, inputs: inputs,
                    outputs: range.count, stride: stride)
    }
}
