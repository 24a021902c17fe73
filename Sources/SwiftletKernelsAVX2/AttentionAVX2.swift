// Attention over the fp16 KV cache, for x86-64 with AVX2 + FMA + F16C (this
// module is compiled with -target-cpu haswell; AttentionKernels calls it only
// after checking the CPU). Float16 conversions compile to vcvtph2ps/vcvtps2ph here.
#if arch(x86_64)
import _Builtin_intrinsics.intel

/// scores[j] = scale · (query · keys[j]) for j < positions; keys rows are fp16,
/// `keyStride` halves apart.
public func avx2AttentionScores(query: UnsafePointer<Float>, keys: UnsafePointer<UInt16>, keyStride: Int,
                                positions: Int, dimension: Int, scale: Float, scores: UnsafeMutablePointer<Float>) {
    let vectorEnd = dimension & ~7
    for j in 0..<positions {
        let key = keys + j &* keyStride
        var sum = _mm256_setzero_ps()
        var i = 0
        while i < vectorEnd {
            let k = _mm256_cvtph_ps(_mm_loadu_si128(UnsafeRawPointer(key + i).assumingMemoryBound(to: __m128i.self)))
            sum = _mm256_fmadd_ps(_mm256_loadu_ps(query + i), k, sum)
            i &+= 8
        }
        var total = sum.sum()
        while i < dimension {
            total += query[i] * Float(Float16(bitPattern: key[i]))
            i &+= 1
        }
        scores[j] = total * scale
    }
}

/// output[0..<dimension] = Σ_j weights[j] · values[j] over fp16 value rows
/// `valueStride` halves apart.
public func avx2AttentionMix(weights: UnsafePointer<Float>, values: UnsafePointer<UInt16>, valueStride: Int,
                             positions: Int, dimension: Int, output: UnsafeMutablePointer<Float>) {
    output.initialize(repeating: 0, count: dimension)
    let vectorEnd = dimension & ~7
    for j in 0..<positions {
        let value = values + j &* valueStride
        let weight = weights[j]
        let w = _mm256_set1_ps(weight)
        var i = 0
        while i < vectorEnd {
            let v = _mm256_cvtph_ps(_mm_loadu_si128(UnsafeRawPointer(value + i).assumingMemoryBound(to: __m128i.self)))
            _mm256_storeu_ps(output + i, _mm256_fmadd_ps(w, v, _mm256_loadu_ps(output + i)))
            i &+= 8
        }
        while i < dimension {
            output[i] += weight * Float(Float16(bitPattern: value[i]))
            i &+= 1
        }
    }
}

/// destination[i] = fp16(source[i]), rounding to nearest even.
public func avx2HalvesFromFloats(_ source: UnsafePointer<Float>, _ destination: UnsafeMutablePointer<UInt16>,
                                 count: Int) {
    for i in 0..<count { destination[i] = Float16(source[i]).bitPattern }
}

/// destination[i] = Float(source[i]) for `count` fp16 values; rows of
/// `columns` values `sourceStride` halves apart become dense rows.
public func avx2FloatsFromHalves(_ source: UnsafePointer<UInt16>, sourceStride: Int, rows: Int, columns: Int,
                                 _ destination: UnsafeMutablePointer<Float>) {
    for row in 0..<rows {
        let from = source + row &* sourceStride, to = destination + row &* columns
        for i in 0..<columns { to[i] = Float(Float16(bitPattern: from[i])) }
    }
}
#endif
