#if arch(x86_64)
import SwiftletKernelsAVX2
import SwiftletKernelsAVX512
#endif

/// Every kernel that has CPU-specific variants, chosen once per process from
/// what the CPU supports (CPUFeatures) and looked up by name: nothing else in
/// the engine branches on the CPU. Three sets:
///  - portable: plain Swift the compiler vectorizes for baseline x86-64 (PortableKernels);
///  - avx2: SwiftletKernelsAVX2 (AVX2 + FMA + F16C);
///  - avx512VNNI: the AVX2 set with SwiftletKernelsAVX512's VNNI row products,
///    the packed batch product (PackedMatrixProduct) and grouped attention.
/// A new weight format adds one row product to each set (RowProducts.swift).
struct KernelTable: Sendable {
    enum KernelSet: Sendable { case portable, avx2, avx512VNNI }

    /// output[t * outputStride + r] = weight row r · activation token t, for r in `rows`, t < tokens.
    typealias RowProduct = @Sendable (
        _ weights: UnsafeRawPointer, _ rowByteCount: Int, _ blocksPerRow: Int, _ rows: Range<Int>,
        _ activations: QuantizedActivations, _ tokens: Int, _ output: UnsafeMutablePointer<Float>, _ outputStride: Int
    ) -> Void

    /// Attention for up to `heads` query heads sharing one key/value head,
    /// each K/V row read once for all of them; heads of `dimension` values only.
    struct GroupedAttention: Sendable {
        /// Arguments: the heads' queries (contiguous), their count, keys, values,
        /// visible positions, scale, scratch for count × positions scores, and
        /// the heads' outputs (contiguous).
        let run: @Sendable (
            _ queries: UnsafePointer<Float>, _ heads: Int, _ keys: UnsafePointer<UInt16>,
            _ values: UnsafePointer<UInt16>, _ positions: Int, _ dimension: Int, _ scale: Float,
            _ scores: UnsafeMutablePointer<Float>, _ output: UnsafeMutablePointer<Float>
        ) -> Void
        let heads: Int
        /// Whether `run` takes heads of this dimension.
        let takes: @Sendable (_ dimension: Int) -> Bool
    }

    /// Which set this is (swiftlet_system_info names it).
    let set: KernelSet

    /// Products of weight rows (in place, WeightFormat) with int8 activations,
    /// indexed by the format's raw value (rowProduct(for:)).
    private let rowProducts: [RowProduct]
    /// Whether the packed VNNI batch product (PackedMatrixProduct) can run.
    let hasPackedProduct: Bool

    /// One row of floats to int8 blocks: values, per-block scale d and d·Σq (QuantizedActivations).
    let quantizeRow: @Sendable (_ input: UnsafePointer<Float>, _ values: UnsafeMutablePointer<Int8>,
                                _ scales: UnsafeMutablePointer<Float>, _ sums: UnsafeMutablePointer<Float>,
                                _ count: Int) -> Void

    /// One row of floats to Q8_K-shaped blocks (SuperBlockActivations): values,
    /// per-256 scale, int16 sums per 16; `count` a multiple of 256.
    let quantizeSuperBlockRow: @Sendable (_ input: UnsafePointer<Float>, _ values: UnsafeMutablePointer<Int8>,
                                          _ scales: UnsafeMutablePointer<Float>, _ sums: UnsafeMutablePointer<Int16>,
                                          _ count: Int) -> Void

    // Attention over the fp16 KV cache (KVCache describes its layout).
    /// scores[j] = scale · (query · keys[j]), j < positions.
    let attentionScores: @Sendable (_ query: UnsafePointer<Float>, _ keys: UnsafePointer<UInt16>, _ keyStride: Int,
                                    _ positions: Int, _ dimension: Int, _ scale: Float,
                                    _ scores: UnsafeMutablePointer<Float>) -> Void
    /// output = Σ_j weights[j] · values[j], j < positions.
    let attentionMix: @Sendable (_ weights: UnsafePointer<Float>, _ values: UnsafePointer<UInt16>, _ valueStride: Int,
                                 _ positions: Int, _ dimension: Int, _ output: UnsafeMutablePointer<Float>) -> Void
    /// nil in the portable set.
    let groupedAttention: GroupedAttention?
    /// destination[i] = fp16 bits of source[i] (round to nearest even).
    let halvesFromFloats: @Sendable (_ source: UnsafePointer<Float>, _ destination: UnsafeMutablePointer<UInt16>,
                                     _ count: Int) -> Void
    /// `rows` rows of `columns` fp16 values, `sourceStride` apart, as dense fp32 rows.
    let floatsFromHalves: @Sendable (_ source: UnsafePointer<UInt16>, _ sourceStride: Int, _ rows: Int,
                                     _ columns: Int, _ destination: UnsafeMutablePointer<Float>) -> Void

    // Element-wise.
    /// In-place softmax of x[0..<count].
    let softmax: @Sendable (_ x: UnsafeMutablePointer<Float>, _ count: Int) -> Void
    /// gate[i] = silu(gate[i]) · up[i], in place.
    let swiGLU: @Sendable (_ gate: UnsafeMutablePointer<Float>, _ up: UnsafePointer<Float>, _ count: Int) -> Void
    /// gate[i] = gelu(gate[i]) · up[i] (GELU's tanh form), in place.
    let geGLU: @Sendable (_ gate: UnsafeMutablePointer<Float>, _ up: UnsafePointer<Float>, _ count: Int) -> Void
    /// x[i] = gelu(x[i]) in its exact erf form (BERT), in place.
    let geluErf: @Sendable (_ x: UnsafeMutablePointer<Float>, _ count: Int) -> Void

    /// The row product for weights in `format`.
    @inline(__always)
    func rowProduct(for format: WeightFormat) -> RowProduct { rowProducts[Int(format.rawValue)] }

    /// One product per format, in raw-value order, from a switch that must name every format.
    private static func byFormat(_ product: (WeightFormat) -> RowProduct) -> [RowProduct] {
        WeightFormat.allCases.enumerated().map { index, format in
            precondition(Int(format.rawValue) == index, "formats are numbered 0, 1, 2…")
            return product(format)
        }
    }

    /// The table this process runs.
    static let current: KernelTable = {
        #if arch(x86_64)
        if CPUFeatures.hasAVX512 { return .avx512VNNI }
        if CPUFeatures.hasAVX2 { return .avx2 }
        #endif
        return .portable
    }()

    static let portable = KernelTable(
        set: .portable,
        rowProducts: byFormat(portableRowProduct),
        hasPackedProduct: false,
        quantizeRow: { portableQuantizeRow($0, values: $1, scales: $2, sums: $3, count: $4) },
        quantizeSuperBlockRow: { portableQuantizeSuperBlockRow($0, values: $1, scales: $2, sums: $3, count: $4) },
        attentionScores: portableAttentionScores, attentionMix: portableAttentionMix, groupedAttention: nil,
        halvesFromFloats: portableHalvesFromFloats, floatsFromHalves: portableFloatsFromHalves,
        softmax: portableSoftmax, swiGLU: portableSwiGLU, geGLU: portableGeGLU, geluErf: portableGeluErf)

    #if arch(x86_64)
    static let avx2 = KernelTable(
        set: .avx2,
        rowProducts: byFormat(avx2RowProduct),
        hasPackedProduct: false,
        quantizeRow: { avx2QuantizeRow($0, values: $1, scales: $2, sums: $3, count: $4) },
        quantizeSuperBlockRow: { avx2QuantizeSuperBlockRow($0, values: $1, scales: $2, sums: $3, count: $4) },
        attentionScores: { avx2AttentionScores(query: $0, keys: $1, keyStride: $2, positions: $3, dimension: $4,
                                               scale: $5, scores: $6) },
        attentionMix: { avx2AttentionMix(weights: $0, values: $1, valueStride: $2, positions: $3, dimension: $4,
                                         output: $5) },
        groupedAttention: GroupedAttention(
            run: { queries, heads, keys, values, positions, dimension, scale, scores, output in
                avx2GroupAttention(queries: queries, heads: heads, keys: keys, values: values, positions: positions,
                                   dimension: dimension, scale: scale, scores: scores,
                                   softmax: { avx2Softmax($0, count: $1) }, output: output)
            },
            heads: avx2GroupAttentionHeads, takes: { avx2GroupAttentionTakes(dimension: $0) }),
        halvesFromFloats: { avx2HalvesFromFloats($0, $1, count: $2) },
        floatsFromHalves: { avx2FloatsFromHalves($0, sourceStride: $1, rows: $2, columns: $3, $4) },
        softmax: { avx2Softmax($0, count: $1) },
        swiGLU: { avx2SwiGLU($0, $1, count: $2) }, geGLU: { avx2GeGLU($0, $1, count: $2) },
        geluErf: { avx2GeluErf($0, count: $1) })

    static let avx512VNNI = KernelTable(
        set: .avx512VNNI,
        rowProducts: byFormat(vnniRowProduct),
        hasPackedProduct: true,
        quantizeRow: avx2.quantizeRow, quantizeSuperBlockRow: avx2.quantizeSuperBlockRow,
        attentionScores: avx2.attentionScores, attentionMix: avx2.attentionMix,
        // The AVX-512 kernel holds a 64-value row in registers; other head
        // dimensions (Gemma 3's 256) take the AVX2 one, which streams columns.
        groupedAttention: GroupedAttention(
            run: { queries, heads, keys, values, positions, dimension, scale, scores, output in
                if dimension == groupAttentionDimension {
                    avx512GroupAttention(queries: queries, heads: heads, keys: keys, values: values,
                                         positions: positions, scale: scale, scores: scores,
                                         softmax: { avx2Softmax($0, count: $1) }, output: output)
                } else {
                    avx2.groupedAttention!.run(queries, heads, keys, values, positions, dimension, scale, scores, output)
                }
            },
            heads: min(groupAttentionHeads, avx2GroupAttentionHeads), takes: avx2.groupedAttention!.takes),
        halvesFromFloats: avx2.halvesFromFloats, floatsFromHalves: avx2.floatsFromHalves,
        softmax: avx2.softmax, swiGLU: avx2.swiGLU, geGLU: avx2.geGLU, geluErf: avx2.geluErf)

    #endif
}
