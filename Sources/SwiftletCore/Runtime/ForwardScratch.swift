/// Every activation buffer of the forward pass for up to `batchCapacity`
/// tokens, allocated once when a context is created: the pass itself never
/// allocates.
final class ForwardScratch {
    let batchCapacity: Int
    let hidden: UnsafeMutablePointer<Float>      // [batch, embedding] the residual stream
    let normed: UnsafeMutablePointer<Float>      // [batch, embedding]
    let query: UnsafeMutablePointer<Float>       // [batch, queryLength]
    let key: UnsafeMutablePointer<Float>         // [batch, kvLength]
    let value: UnsafeMutablePointer<Float>       // [batch, kvLength]
    let attention: UnsafeMutablePointer<Float>   // [batch, queryLength] heads' outputs
    let projected: UnsafeMutablePointer<Float>   // [batch, embedding] a block's output before the residual add
    let gate: UnsafeMutablePointer<Float>        // [batch, feedForward]
    let up: UnsafeMutablePointer<Float>          // [batch, feedForward]
    let rotation: UnsafeMutablePointer<Float>    // [batch, headDimension] cos/sin pairs per position
    let scores: UnsafeMutablePointer<Float>      // [workers, scoresStride] attention weights
    /// Per worker: one score per visible position for each query head of a
    /// key/value group the grouped attention kernel takes at once.
    let scoresStride: Int
    let contextCapacity: Int
    let quantized: QuantizedActivations          // [batch, widest input] int8 + scales
    /// The large-batch path's activations rearranged for the VNNI kernel
    /// (PackedActivations; `columns` and `tokens` set per use), and per worker
    /// a tile buffer of PackedMatrixProduct.tileScratchBytes; nil unless
    /// batches can be large and the CPU has VNNI.
    let packedValues: UnsafeMutablePointer<Int8>?
    let packedScales: UnsafeMutablePointer<Float>?
    let packedSums: UnsafeMutablePointer<Float>?
    let tiles: UnsafeMutableRawPointer?
    let tileStride: Int
    /// [batch, widest input] the int8-rounded activations as floats, for the
    /// sgemm path; nil when batches are too small ever to take it, or the VNNI path takes them.
    let roundedActivations: UnsafeMutablePointer<Float>?
    /// Per-worker fp32 copies of weight-row slices for the sgemm path; nil
    /// when batches are too small ever to take it, or the VNNI path takes them.
    let dequantized: UnsafeMutablePointer<Float>?
    let dequantizedStride: Int                   // floats per worker
    /// Per-worker [batch, contextCapacity] attention weights of one head for
    /// the sgemm attention path (every CPU's large batches); nil when batches
    /// are too small ever to take it.
    let batchScores: UnsafeMutablePointer<Float>?
    /// Per-worker fp32 copies of one key/value head's rows of the fp16 cache
    /// (keys, then values: 2 × contextCapacity × headDimension) for sgemm; nil like batchScores.
    let expandedKV: UnsafeMutablePointer<Float>?
    let expandedKVStride: Int
    private let buffers: [AnyObject]

    init(config c: TransformerConfig, batchCapacity b: Int, contextCapacity: Int, workers: Int, arena: Arena) throws {
        batchCapacity = b
        var buffers: [AnyObject] = []
        func floats(_ count: Int) throws -> UnsafeMutablePointer<Float> {
            let buffer = try ArenaBuffer<Float>(count: count, in: arena)
            buffers.append(buffer)
            return buffer.pointer
        }
        hidden = try floats(b * c.embeddingLength)
        normed = try floats(b * c.embeddingLength)
        query = try floats(b * c.queryLength)
        key = try floats(b * c.kvLength)
        value = try floats(b * c.kvLength)
        attention = try floats(b * c.queryLength)
        projected = try floats(b * c.embeddingLength)
        gate = try floats(b * c.feedForwardLength)
        up = try floats(b * c.feedForwardLength)
        rotation = try floats(b * c.headDimension)
        self.contextCapacity = contextCapacity
        scoresStride = AttentionKernels.groupHeads * contextCapacity
        scores = try floats(workers * scoresStride)
        let widest = max(c.embeddingLength, c.feedForwardLength, c.queryLength)
        let values = try ArenaBuffer<Int8>(count: b * widest, in: arena)
        buffers.append(values)
        quantized = QuantizedActivations(values: values.pointer, scales: try floats(b * widest / Q8Block.valueCount),
                                         sums: try floats(b * widest / Q8Block.valueCount), columns: widest)
        // The largest slice one worker dequantizes: its share of any block matrix's rows.
        func slice(_ rows: Int, _ columns: Int) -> Int { (rows + workers - 1) / workers * columns }
        dequantizedStride = max(slice(c.queryLength, c.embeddingLength), slice(c.kvLength, c.embeddingLength),
                                slice(c.embeddingLength, c.queryLength), slice(c.feedForwardLength, c.embeddingLength),
                                slice(c.embeddingLength, c.feedForwardLength))
        let usesGEMM = b >= DequantizedMatrixProduct.minimumTokens
        let usesPacked = b >= PackedMatrixProduct.minimumTokens && CPUFeatures.hasAVX512
        let usesSGEMM = usesGEMM && !usesPacked
        dequantized = usesSGEMM ? try floats(workers * dequantizedStride) : nil
        roundedActivations = usesSGEMM ? try floats(b * widest) : nil
        tileStride = (PackedMatrixProduct.tileScratchBytes(columns: widest) + 63) / 64 * 64
        if usesPacked {
            let packedCapacity = PackedActivations.capacity(tokens: b, columns: widest)
            let packed = try ArenaBuffer<Int8>(count: packedCapacity.values, in: arena)
            let tileBuffer = try ArenaBuffer<UInt8>(count: workers * tileStride, in: arena)
            buffers += [packed, tileBuffer]
            packedValues = packed.pointer
            packedScales = try floats(packedCapacity.floats)
            packedSums = try floats(packedCapacity.floats)
            tiles = UnsafeMutableRawPointer(tileBuffer.pointer)
        } else {
            packedValues = nil
            packedScales = nil
            packedSums = nil
            tiles = nil
        }
        batchScores = usesGEMM ? try floats(workers * b * contextCapacity) : nil
        expandedKVStride = 2 * contextCapacity * c.headDimension
        expandedKV = usesGEMM ? try floats(workers * expandedKVStride) : nil
        self.buffers = buffers
    }

    /// The packed buffer for `tokens` tokens of `columns` values, if this scratch has one.
    func packedActivations(columns: Int, tokens: Int) -> PackedActivations? {
        guard let packedValues, let packedScales, let packedSums else { return nil }
        return PackedActivations(values: packedValues, scales: packedScales, sums: packedSums, columns: columns,
                                 tokens: tokens)
    }

    /// The int8 buffer viewed with `columns` values per token.
    func quantizedActivations(columns: Int) -> QuantizedActivations {
        QuantizedActivations(values: quantized.values, scales: quantized.scales, sums: quantized.sums, columns: columns)
    }
}
