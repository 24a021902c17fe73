#if arch(x86_64)
import SwiftletKernelsAVX2
import SwiftletKernelsAVX512
#endif

/// Attention's inner loops over the fp16 KV cache, with the implementation
/// chosen once per process (AVX2 + F16C where the CPU has them). The cache is
/// fp16 because generation at long contexts is bound by reading it: half the
/// bytes of fp32, and the same storage llama.cpp uses by default.
enum AttentionKernels {
    /// scores[j] = scale · (query · keys[j]), j < positions.
    static let scores: @Sendable (_ query: UnsafePointer<Float>, _ keys: UnsafePointer<UInt16>, _ keyStride: Int,
                                  _ positions: Int, _ dimension: Int, _ scale: Float,
                                  _ scores: UnsafeMutablePointer<Float>) -> Void = {
        #if arch(x86_64)
        if CPUFeatures.hasAVX2 {
            return { avx2AttentionScores(query: $0, keys: $1, keyStride: $2, positions: $3, dimension: $4, scale: $5, scores: $6) }
        }
        #endif
        return { query, keys, keyStride, positions, dimension, scale, scores in
            for j in 0..<positions {
                let key = keys + j * keyStride
                var sum: Float = 0
                for i in 0..<dimension { sum += query[i] * Float(Float16(bitPattern: key[i])) }
                scores[j] = sum * scale
            }
        }
    }()

    /// output = Σ_j weights[j] · values[j], j < positions.
    static let mix: @Sendable (_ weights: UnsafePointer<Float>, _ values: UnsafePointer<UInt16>, _ valueStride: Int,
                               _ positions: Int, _ dimension: Int, _ output: UnsafeMutablePointer<Float>) -> Void = {
        #if arch(x86_64)
        if CPUFeatures.hasAVX2 {
            return { avx2AttentionMix(weights: $0, values: $1, valueStride: $2, positions: $3, dimension: $4, output: $5) }
        }
        #endif
        return { weights, values, valueStride, positions, dimension, output in
            output.initialize(repeating: 0, count: dimension)
            for j in 0..<positions {
                let value = values + j * valueStride
                for i in 0..<dimension { output[i] += weights[j] * Float(Float16(bitPattern: value[i])) }
            }
        }
    }()

    /// Query heads the grouped kernel takes at once, and the one head
    /// dimension it handles (the kernel's own constants).
    #if arch(x86_64)
    static let groupHeads = groupAttentionHeads
    static let groupHeadDimension = groupAttentionDimension
    #else
    static let groupHeads = 1
    static let groupHeadDimension = 0
    #endif

    /// Attention for up to `groupHeads` query heads sharing one key/value
    /// head, each K/V row read once for all of them (AVX-512; heads of
    /// `groupHeadDimension` only); nil where the CPU lacks it. Arguments: the heads' queries
    /// (contiguous), their count, keys, values, visible positions, scale,
    /// scratch for count × positions scores, and the heads' outputs (contiguous).
    static let grouped: (@Sendable (_ queries: UnsafePointer<Float>, _ heads: Int, _ keys: UnsafePointer<UInt16>,
                                    _ values: UnsafePointer<UInt16>, _ positions: Int, _ scale: Float,
                                    _ scores: UnsafeMutablePointer<Float>, _ output: UnsafeMutablePointer<Float>)
                         -> Void)? = {
        #if arch(x86_64)
        if CPUFeatures.hasAVX512 {
            return { queries, heads, keys, values, positions, scale, scores, output in
                avx512GroupAttention(queries: queries, heads: heads, keys: keys, values: values, positions: positions,
                                     scale: scale, scores: scores, softmax: { softmax($0, count: $1) }, output: output)
            }
        }
        #endif
        return nil
    }()

    /// destination[i] = fp16 bits of source[i] (round to nearest even).
    static let halvesFromFloats: @Sendable (_ source: UnsafePointer<Float>, _ destination: UnsafeMutablePointer<UInt16>,
                                            _ count: Int) -> Void = {
        #if arch(x86_64)
        if CPUFeatures.hasAVX2 { return { avx2HalvesFromFloats($0, $1, count: $2) } }
        #endif
        return { source, destination, count in
            for i in 0..<count { destination[i] = Float16(source[i]).bitPattern }
        }
    }()

    /// `rows` rows of `columns` fp16 values, `sourceStride` apart, as dense fp32 rows.
    static let floatsFromHalves: @Sendable (_ source: UnsafePointer<UInt16>, _ sourceStride: Int, _ rows: Int,
                                            _ columns: Int, _ destination: UnsafeMutablePointer<Float>) -> Void = {
        #if arch(x86_64)
        if CPUFeatures.hasAVX2 {
            return { avx2FloatsFromHalves($0, sourceStride: $1, rows: $2, columns: $3, $4) }
        }
        #endif
        return { source, sourceStride, rows, columns, destination in
            for row in 0..<rows {
                for i in 0..<columns {
                    destination[row * columns + i] = Float(Float16(bitPattern: source[row * sourceStride + i]))
                }
            }
        }
    }()
}
