// Generation-time attention for the query heads that share one key/value
// head, over the fp16 cache, with AVX2 + FMA + F16C (compiled with -target-cpu
// haswell; KernelTable calls it only after checking the CPU). The AVX2 twin of
// avx512GroupAttention, same contract: each key and value row is loaded and
// converted from fp16 once for up to three query heads, instead of once per
// head. With AVX2's 16 registers it takes two positions at a time for the
// scores (6 sums) and 32 columns at a time for the mix (12 sums), so any head
// dimension that is a multiple of 32 works (64 for SmolLM2, 256 for Gemma 3).
#if arch(x86_64)
import _Builtin_intrinsics.intel

/// Query heads processed together per pass.
public let avx2GroupAttentionHeads = 3

/// Whether avx2GroupAttention takes heads of `dimension` values.
public func avx2GroupAttentionTakes(dimension: Int) -> Bool { dimension > 0 && dimension % 32 == 0 }

/// For query heads h < `heads` (1...3; queries[h·dimension…]):
/// out_h = Σ_j softmax_j(scale · q_h·k_j) · v_j over the first `positions`
/// rows of `keys` and `values` (`dimension` fp16 values each, contiguous).
/// `scores` holds heads × positions floats of scratch; `softmax` is applied
/// to each head's row of it in place.
public func avx2GroupAttention(
    queries: UnsafePointer<Float>, heads: Int, keys: UnsafePointer<UInt16>, values: UnsafePointer<UInt16>,
    positions: Int, dimension: Int, scale: Float, scores: UnsafeMutablePointer<Float>,
    softmax: (UnsafeMutablePointer<Float>, Int) -> Void, output: UnsafeMutablePointer<Float>
) {
    groupScores(queries, heads, keys, positions, dimension, scale, scores)
    for h in 0..<heads { softmax(scores + h &* positions, positions) }
    var columns = 0
    while columns < dimension {
        groupMix(scores, heads, values, positions, dimension, output, columns: columns)
        columns &+= 32
    }
}

/// scores[h·positions + j] = scale · q_h·k_j, two positions at a time.
@inline(__always)
private func groupScores(_ queries: UnsafePointer<Float>, _ heads: Int, _ keys: UnsafePointer<UInt16>,
                         _ positions: Int, _ dimension: Int, _ scale: Float, _ scores: UnsafeMutablePointer<Float>) {
    // Missing heads repeat head 0 (computed, never stored).
    let q0 = queries, q1 = queries + (heads > 1 ? dimension : 0), q2 = queries + (heads > 2 ? 2 &* dimension : 0)
    let s1 = scores + (heads > 1 ? positions : 0), s2 = scores + (heads > 2 ? 2 &* positions : 0)
    var j = 0
    while j &+ 2 <= positions {
        let k = keys + j &* dimension
        var a0 = _mm256_setzero_ps(), a1 = a0, b0 = a0, b1 = a0, c0 = a0, c1 = a0
        var i = 0
        while i < dimension {
            let k0 = halves(k + i), k1 = halves(k + (dimension &+ i))
            let x = _mm256_loadu_ps(q0 + i), y = _mm256_loadu_ps(q1 + i), z = _mm256_loadu_ps(q2 + i)
            a0 = _mm256_fmadd_ps(x, k0, a0); a1 = _mm256_fmadd_ps(x, k1, a1)
            b0 = _mm256_fmadd_ps(y, k0, b0); b1 = _mm256_fmadd_ps(y, k1, b1)
            c0 = _mm256_fmadd_ps(z, k0, c0); c1 = _mm256_fmadd_ps(z, k1, c1)
            i &+= 8
        }
        let ab = sums(a0, a1, b0, b1)  // a0, a1, b0, b1 totals
        let cc = sums(c0, c1, c0, c1)
        scores[j] = ab[0] * scale; scores[j &+ 1] = ab[1] * scale
        s1[j] = ab[2] * scale; s1[j &+ 1] = ab[3] * scale
        s2[j] = cc[0] * scale; s2[j &+ 1] = cc[1] * scale
        j &+= 2
    }
    if j < positions {
        let k = keys + j &* dimension
        for h in 0..<heads {
            var sum = _mm256_setzero_ps()
            var i = 0
            while i < dimension {
                sum = _mm256_fmadd_ps(_mm256_loadu_ps(queries + (h &* dimension &+ i)), halves(k + i), sum)
                i &+= 8
            }
            scores[h &* positions &+ j] = sum.sum() * scale
        }
    }
}

/// The four vectors' totals, in order (hadd twice leaves each vector's
/// partial sums in one lane per 128-bit half).
@inline(__always)
private func sums(_ a: __m256, _ b: __m256, _ c: __m256, _ d: __m256) -> __m128 {
    let pairs = _mm256_hadd_ps(_mm256_hadd_ps(a, b), _mm256_hadd_ps(c, d))
    return _mm_add_ps(pairs.lowHalf, pairs.highHalf)
}

/// output[h·dimension + c] = Σ_j weights[h·positions + j] · values[j·dimension + c]
/// for the 32 columns c from `columns`, of up to three heads, in registers across the positions.
@inline(__always)
private func groupMix(_ weights: UnsafePointer<Float>, _ heads: Int, _ values: UnsafePointer<UInt16>,
                      _ positions: Int, _ dimension: Int, _ output: UnsafeMutablePointer<Float>, columns: Int) {
    let w1 = weights + (heads > 1 ? positions : 0), w2 = weights + (heads > 2 ? 2 &* positions : 0)
    var a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0
    var b0 = a0, b1 = a0, b2 = a0, b3 = a0
    var c0 = a0, c1 = a0, c2 = a0, c3 = a0
    for j in 0..<positions {
        let v = values + (j &* dimension &+ columns)
        let x = _mm256_set1_ps(weights[j]), y = _mm256_set1_ps(w1[j]), z = _mm256_set1_ps(w2[j])
        var h = halves(v)
        a0 = _mm256_fmadd_ps(x, h, a0); b0 = _mm256_fmadd_ps(y, h, b0); c0 = _mm256_fmadd_ps(z, h, c0)
        h = halves(v + 8)
        a1 = _mm256_fmadd_ps(x, h, a1); b1 = _mm256_fmadd_ps(y, h, b1); c1 = _mm256_fmadd_ps(z, h, c1)
        h = halves(v + 16)
        a2 = _mm256_fmadd_ps(x, h, a2); b2 = _mm256_fmadd_ps(y, h, b2); c2 = _mm256_fmadd_ps(z, h, c2)
        h = halves(v + 24)
        a3 = _mm256_fmadd_ps(x, h, a3); b3 = _mm256_fmadd_ps(y, h, b3); c3 = _mm256_fmadd_ps(z, h, c3)
    }
    store(output + columns, a0, a1, a2, a3)
    if heads > 1 { store(output + (dimension &+ columns), b0, b1, b2, b3) }
    if heads > 2 { store(output + (2 &* dimension &+ columns), c0, c1, c2, c3) }
}

@inline(__always)
private func store(_ out: UnsafeMutablePointer<Float>, _ v0: __m256, _ v1: __m256, _ v2: __m256, _ v3: __m256) {
    _mm256_storeu_ps(out, v0); _mm256_storeu_ps(out + 8, v1)
    _mm256_storeu_ps(out + 16, v2); _mm256_storeu_ps(out + 24, v3)
}

#endif
