// Attention over the fp16 KV cache, for x86-64 with AVX2 + FMA + F16C (this
// module is compiled with -target-cpu haswell; KernelTable calls it only
// after checking the CPU). Float16 conversions compile to vcvtph2ps/vcvtps2ph here.
#if arch(x86_64)
import _Builtin_intrinsics.intel

/// scores[j] = scale · (query · keys[j]) for j < positions; keys rows are fp16,
/// `keyStride` halves apart. Four positions at a time share one horizontal
/// reduction (a reduction per position cost as much as the products).
public func avx2AttentionScores(query: UnsafePointer<Float>, keys: UnsafePointer<UInt16>, keyStride: Int,
                                positions: Int, dimension: Int, scale: Float, scores: UnsafeMutablePointer<Float>) {
    guard dimension % 8 == 0 else {
        for j in 0..<positions { scores[j] = scale * scalarDot(query, keys + j &* keyStride, dimension) }
        return
    }
    var j = 0
    while j &+ 4 <= positions {
        let k0 = keys + j &* keyStride, k1 = k0 + keyStride, k2 = k1 + keyStride, k3 = k2 + keyStride
        var s0 = _mm256_setzero_ps(), s1 = _mm256_setzero_ps(), s2 = _mm256_setzero_ps(), s3 = _mm256_setzero_ps()
        var i = 0
        while i < dimension {
            let q = _mm256_loadu_ps(query + i)
            s0 = _mm256_fmadd_ps(q, halves(k0 + i), s0)
            s1 = _mm256_fmadd_ps(q, halves(k1 + i), s1)
            s2 = _mm256_fmadd_ps(q, halves(k2 + i), s2)
            s3 = _mm256_fmadd_ps(q, halves(k3 + i), s3)
            i &+= 8
        }
        // hadd twice leaves each position's partial sums in one lane per 128-bit half.
        let pairs = _mm256_hadd_ps(_mm256_hadd_ps(s0, s1), _mm256_hadd_ps(s2, s3))
        let lanes = pairs.lowHalf + pairs.highHalf  // (s0, s1, s2, s3) totals
        scores[j] = lanes[0] * scale
        scores[j &+ 1] = lanes[1] * scale
        scores[j &+ 2] = lanes[2] * scale
        scores[j &+ 3] = lanes[3] * scale
        j &+= 4
    }
    while j < positions {
        let key = keys + j &* keyStride
        var sum = _mm256_setzero_ps()
        var i = 0
        while i < dimension {
            sum = _mm256_fmadd_ps(_mm256_loadu_ps(query + i), halves(key + i), sum)
            i &+= 8
        }
        scores[j] = sum.sum() * scale
        j &+= 1
    }
}

/// output[0..<dimension] = Σ_j weights[j] · values[j] over fp16 value rows
/// `valueStride` halves apart. Columns go 32 at a time with the sums held in
/// registers across all positions, instead of a load and store of the output
/// per position.
public func avx2AttentionMix(weights: UnsafePointer<Float>, values: UnsafePointer<UInt16>, valueStride: Int,
                             positions: Int, dimension: Int, output: UnsafeMutablePointer<Float>) {
    var column = 0
    while column &+ 32 <= dimension {
        var a0 = _mm256_setzero_ps(), a1 = _mm256_setzero_ps(), a2 = _mm256_setzero_ps(), a3 = _mm256_setzero_ps()
        for j in 0..<positions {
            let w = _mm256_set1_ps(weights[j])
            let v = values + (j &* valueStride &+ column)
            a0 = _mm256_fmadd_ps(w, halves(v), a0)
            a1 = _mm256_fmadd_ps(w, halves(v + 8), a1)
            a2 = _mm256_fmadd_ps(w, halves(v + 16), a2)
            a3 = _mm256_fmadd_ps(w, halves(v + 24), a3)
        }
        _mm256_storeu_ps(output + column, a0)
        _mm256_storeu_ps(output + (column &+ 8), a1)
        _mm256_storeu_ps(output + (column &+ 16), a2)
        _mm256_storeu_ps(output + (column &+ 24), a3)
        column &+= 32
    }
    while column < dimension {
        var sum: Float = 0
        for j in 0..<positions { sum += weights[j] * Float(Float16(bitPattern: values[j &* valueStride &+ column])) }
        output[column] = sum
        column &+= 1
    }
}

@inline(__always)
private func scalarDot(_ query: UnsafePointer<Float>, _ key: UnsafePointer<UInt16>, _ count: Int) -> Float {
    var total: Float = 0
    for i in 0..<count { total += query[i] * Float(Float16(bitPattern: key[i])) }
    return total
}

// The two conversions below are plain Swift, which cross-module optimization
// would otherwise inline into the baseline-compiled engine, where Float16
// conversions become library calls; @inline(never) keeps them here, compiled
// to vcvtps2ph / vcvtph2ps.

/// destination[i] = fp16(source[i]), rounding to nearest even.
@inline(never)
public func avx2HalvesFromFloats(_ source: UnsafePointer<Float>, _ destination: UnsafeMutablePointer<UInt16>,
                                 count: Int) {
    for i in 0..<count { destination[i] = Float16(source[i]).bitPattern }
}

/// destination[i] = Float(source[i]) for `count` fp16 values; rows of
/// `columns` values `sourceStride` halves apart become dense rows.
@inline(never)
public func avx2FloatsFromHalves(_ source: UnsafePointer<UInt16>, sourceStride: Int, rows: Int, columns: Int,
                                 _ destination: UnsafeMutablePointer<Float>) {
    for row in 0..<rows {
        let from = source + row &* sourceStride, to = destination + row &* columns
        for i in 0..<columns { to[i] = Float(Float16(bitPattern: from[i])) }
    }
}
#endif
