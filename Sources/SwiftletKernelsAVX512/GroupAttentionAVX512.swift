// Generation-time attention for the query heads that share one key/value
// head, over the fp16 cache, for x86-64 with AVX-512 (this module is compiled
// with -target-cpu cascadelake; the engine checks the CPU first). AVX-512's
// 32 vector registers hold the sums of three query heads at once, so each
// key and value row is loaded and converted from fp16 once per group instead
// of once per query head (the per-head kernels re-read a head's 73 KB of keys
// and values three times at 576 positions).
#if arch(x86_64)
import _Builtin_intrinsics.intel

/// Query heads processed together per pass.
public let groupAttentionHeads = 3
/// The one head dimension the kernel handles (registers hold a whole row).
public let groupAttentionDimension = 64

/// For query heads h < `heads` (1...3; queries[h·dimension…], dimension 64):
/// out_h = Σ_j softmax_j(scale · q_h·k_j) · v_j over the first `positions`
/// rows of `keys` and `values` (64 fp16 values each, contiguous).
/// `scores` holds heads × positions floats of scratch; `softmax` is applied
/// to each head's row of it in place.
public func avx512GroupAttention(
    queries: UnsafePointer<Float>, heads: Int, keys: UnsafePointer<UInt16>, values: UnsafePointer<UInt16>,
    positions: Int, scale: Float, scores: UnsafeMutablePointer<Float>,
    softmax: (UnsafeMutablePointer<Float>, Int) -> Void, output: UnsafeMutablePointer<Float>
) {
    groupScores(queries, heads, keys, positions, scale, scores)
    for h in 0..<heads { softmax(scores + h &* positions, positions) }
    groupMix(scores, heads, values, positions, output)
}

private let dimension = groupAttentionDimension

/// scores[h·positions + j] = scale · q_h·k_j, four positions at a time.
@inline(__always)
private func groupScores(_ queries: UnsafePointer<Float>, _ heads: Int, _ keys: UnsafePointer<UInt16>,
                         _ positions: Int, _ scale: Float, _ scores: UnsafeMutablePointer<Float>) {
    let q0 = queries, q1 = queries + (heads > 1 ? dimension : 0), q2 = queries + (heads > 2 ? 2 &* dimension : 0)
    let s1 = heads > 1 ? positions : 0, s2 = heads > 2 ? 2 &* positions : 0  // missing heads repeat head 0
    var j = 0
    while j &+ 4 <= positions {
        let k = keys + j &* dimension
        var a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0
        var b0 = a0, b1 = a0, b2 = a0, b3 = a0
        var c0 = a0, c1 = a0, c2 = a0, c3 = a0
        var i = 0
        while i < dimension {
            let k0 = halves(k + i), k1 = halves(k + (dimension &+ i))
            let k2 = halves(k + (2 &* dimension &+ i)), k3 = halves(k + (3 &* dimension &+ i))
            let x = _mm256_loadu_ps(q0 + i), y = _mm256_loadu_ps(q1 + i), z = _mm256_loadu_ps(q2 + i)
            a0 = _mm256_fmadd_ps(x, k0, a0); a1 = _mm256_fmadd_ps(x, k1, a1)
            a2 = _mm256_fmadd_ps(x, k2, a2); a3 = _mm256_fmadd_ps(x, k3, a3)
            b0 = _mm256_fmadd_ps(y, k0, b0); b1 = _mm256_fmadd_ps(y, k1, b1)
            b2 = _mm256_fmadd_ps(y, k2, b2); b3 = _mm256_fmadd_ps(y, k3, b3)
            c0 = _mm256_fmadd_ps(z, k0, c0); c1 = _mm256_fmadd_ps(z, k1, c1)
            c2 = _mm256_fmadd_ps(z, k2, c2); c3 = _mm256_fmadd_ps(z, k3, c3)
            i &+= 8
        }
        _mm_storeu_ps(scores + j, _mm_mul_ps(sums(a0, a1, a2, a3), _mm_set1_ps(scale)))
        _mm_storeu_ps(scores + (s1 &+ j), _mm_mul_ps(sums(b0, b1, b2, b3), _mm_set1_ps(scale)))
        _mm_storeu_ps(scores + (s2 &+ j), _mm_mul_ps(sums(c0, c1, c2, c3), _mm_set1_ps(scale)))
        j &+= 4
    }
    while j < positions {
        let k = keys + j &* dimension
        for h in 0..<heads {
            var sum = _mm256_setzero_ps()
            var i = 0
            while i < dimension { sum = _mm256_fmadd_ps(_mm256_loadu_ps(queries + (h &* dimension &+ i)), halves(k + i), sum); i &+= 8 }
            scores[h &* positions &+ j] = sum.sum() * scale
        }
        j &+= 1
    }
}

/// The four vectors' totals, in order (hadd twice leaves each vector's
/// partial sums in one lane per 128-bit half).
@inline(__always)
private func sums(_ a: __m256, _ b: __m256, _ c: __m256, _ d: __m256) -> __m128 {
    let pairs = _mm256_hadd_ps(_mm256_hadd_ps(a, b), _mm256_hadd_ps(c, d))
    return _mm_add_ps(pairs.lowHalf, pairs.highHalf)
}

/// output[h·64 + i] = Σ_j weights[h·positions + j] · values[j·64 + i], all
/// 64 columns of up to three heads in registers across the positions.
@inline(__always)
private func groupMix(_ weights: UnsafePointer<Float>, _ heads: Int, _ values: UnsafePointer<UInt16>,
                      _ positions: Int, _ output: UnsafeMutablePointer<Float>) {
    let w1 = weights + (heads > 1 ? positions : 0), w2 = weights + (heads > 2 ? 2 &* positions : 0)
    var a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0, a7 = a0
    var b0 = a0, b1 = a0, b2 = a0, b3 = a0, b4 = a0, b5 = a0, b6 = a0, b7 = a0
    var c0 = a0, c1 = a0, c2 = a0, c3 = a0, c4 = a0, c5 = a0, c6 = a0, c7 = a0
    for j in 0..<positions {
        let v = values + j &* dimension
        let x = _mm256_set1_ps(weights[j]), y = _mm256_set1_ps(w1[j]), z = _mm256_set1_ps(w2[j])
        var h = halves(v)
        a0 = _mm256_fmadd_ps(x, h, a0); b0 = _mm256_fmadd_ps(y, h, b0); c0 = _mm256_fmadd_ps(z, h, c0)
        h = halves(v + 8)
        a1 = _mm256_fmadd_ps(x, h, a1); b1 = _mm256_fmadd_ps(y, h, b1); c1 = _mm256_fmadd_ps(z, h, c1)
        h = halves(v + 16)
        a2 = _mm256_fmadd_ps(x, h, a2); b2 = _mm256_fmadd_ps(y, h, b2); c2 = _mm256_fmadd_ps(z, h, c2)
        h = halves(v + 24)
        a3 = _mm256_fmadd_ps(x, h, a3); b3 = _mm256_fmadd_ps(y, h, b3); c3 = _mm256_fmadd_ps(z, h, c3)
        h = halves(v + 32)
        a4 = _mm256_fmadd_ps(x, h, a4); b4 = _mm256_fmadd_ps(y, h, b4); c4 = _mm256_fmadd_ps(z, h, c4)
        h = halves(v + 40)
        a5 = _mm256_fmadd_ps(x, h, a5); b5 = _mm256_fmadd_ps(y, h, b5); c5 = _mm256_fmadd_ps(z, h, c5)
        h = halves(v + 48)
        a6 = _mm256_fmadd_ps(x, h, a6); b6 = _mm256_fmadd_ps(y, h, b6); c6 = _mm256_fmadd_ps(z, h, c6)
        h = halves(v + 56)
        a7 = _mm256_fmadd_ps(x, h, a7); b7 = _mm256_fmadd_ps(y, h, b7); c7 = _mm256_fmadd_ps(z, h, c7)
    }
    store(output, a0, a1, a2, a3, a4, a5, a6, a7)
    if heads > 1 { store(output + dimension, b0, b1, b2, b3, b4, b5, b6, b7) }
    if heads > 2 { store(output + 2 &* dimension, c0, c1, c2, c3, c4, c5, c6, c7) }
}

@inline(__always)
private func store(_ out: UnsafeMutablePointer<Float>, _ v0: __m256, _ v1: __m256, _ v2: __m256, _ v3: __m256,
                   _ v4: __m256, _ v5: __m256, _ v6: __m256, _ v7: __m256) {
    _mm256_storeu_ps(out, v0); _mm256_storeu_ps(out + 8, v1); _mm256_storeu_ps(out + 16, v2)
    _mm256_storeu_ps(out + 24, v3); _mm256_storeu_ps(out + 32, v4); _mm256_storeu_ps(out + 40, v5)
    _mm256_storeu_ps(out + 48, v6); _mm256_storeu_ps(out + 56, v7)
}

/// Eight fp16 values as floats.
@inline(__always)
private func halves(_ pointer: UnsafePointer<UInt16>) -> __m256 {
    _mm256_cvtph_ps(_mm_loadu_si128(UnsafeRawPointer(pointer).assumingMemoryBound(to: __m128i.self)))
}
#endif
