// e^x eight lanes at a time, and the two loops of the forward pass that are
// mostly e^x: softmax over attention scores and SwiGLU. libm's expf one value
// at a time was ~7% of generation at 512 positions (155 000 calls per token).
// For x86-64 with AVX2 + FMA (compiled with -target-cpu haswell; called only
// after the CPU check).
#if arch(x86_64)
import _Builtin_intrinsics.intel

/// e^x for each lane: relative error below 4e-7 (a few float ulps) on
/// [-87.3, 88.72]; below -87.3 it gives 0 (the true value is under 1.3e-38),
/// above 88.72 +inf (overflow, as expf); a NaN lane gives 0 or 1.3e-38.
///
/// Method: x = n·ln2 + r with n = round(x / ln2) and |r| ≤ ln2/2 (ln2 split
/// in a high part exact in float and a low correction, so r is exact to a
/// float ulp), e^r by its degree-6 Taylor polynomial in Horner form
/// (truncation error r^7/7! < 1.2e-8 relative for |r| ≤ 0.347), and 2^n
/// built in the exponent bits as 2^(n/2)·2^(n − n/2), both normal floats
/// for every n the clamp allows (−126…129), so the product overflows or not
/// exactly as e^x does. Tests/python/test_kernels.py checks the bound.
@inline(__always)
public func avx2Exp(_ x: __m256) -> __m256 {
    let clamped = _mm256_min_ps(_mm256_max_ps(x, _mm256_set1_ps(-87.3)), _mm256_set1_ps(89))
    // Rounded to nearest by the conversion (the default MXCSR mode).
    let integer = _mm256_cvtps_epi32(_mm256_mul_ps(clamped, _mm256_set1_ps(1.442_695_04)))
    let n = _mm256_cvtepi32_ps(integer)
    var r = _mm256_fnmadd_ps(n, _mm256_set1_ps(0.693_145_751_953_125), clamped)  // ln2 high: 0x3f317200
    r = _mm256_fnmadd_ps(n, _mm256_set1_ps(1.428_606_765_330_187e-06), r)      // ln2 − high
    var p = _mm256_set1_ps(1.0 / 720)
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0 / 120))
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0 / 24))
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0 / 6))
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(0.5))
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1))
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1))
    let half = _mm256_srai_epi32(integer, 1)
    let bias = _mm256_set1_epi32(127)
    let first = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(half, bias), 23))
    let second = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(_mm256_sub_epi32(integer, half), bias), 23))
    let result = _mm256_mul_ps(_mm256_mul_ps(p, first), second)
    // Below the clamp the true value is subnormal or 0: 0 where x + 87.3 is
    // negative (or NaN with its sign bit set; other NaNs were clamped to -87.3).
    let below = _mm256_add_ps(x, _mm256_set1_ps(87.3))
    return _mm256_blendv_ps(result, _mm256_setzero_ps(), below)
}

/// In-place softmax of x[0..<count]: e^(x − max) / Σ.
public func avx2Softmax(_ x: UnsafeMutablePointer<Float>, count: Int) {
    var largest = -Float.infinity
    var i = 0
    if count >= 8 {
        var lanes = _mm256_loadu_ps(x)
        i = 8
        while i &+ 8 <= count { lanes = _mm256_max_ps(lanes, _mm256_loadu_ps(x + i)); i &+= 8 }
        largest = lanes.max()
    }
    while i < count { largest = max(largest, x[i]); i &+= 1 }

    let shift = _mm256_set1_ps(largest)
    var sums = _mm256_setzero_ps()
    i = 0
    while i &+ 8 <= count {
        let e = avx2Exp(_mm256_sub_ps(_mm256_loadu_ps(x + i), shift))
        _mm256_storeu_ps(x + i, e)
        sums = _mm256_add_ps(sums, e)
        i &+= 8
    }
    var sum = sums.sum()
    while i < count {
        let e = avx2Exp(_mm256_set1_ps(x[i] - largest))[0]
        x[i] = e
        sum += e
        i &+= 1
    }
    let inverse = _mm256_set1_ps(1 / sum)
    i = 0
    while i &+ 8 <= count { _mm256_storeu_ps(x + i, _mm256_mul_ps(_mm256_loadu_ps(x + i), inverse)); i &+= 8 }
    while i < count { x[i] *= inverse[0]; i &+= 1 }
}

/// gate[i] = silu(gate[i]) · up[i] = gate[i] / (1 + e^−gate[i]) · up[i], in place.
public func avx2SwiGLU(_ gate: UnsafeMutablePointer<Float>, _ up: UnsafePointer<Float>, count: Int) {
    let one = _mm256_set1_ps(1)
    var i = 0
    while i &+ 8 <= count {
        let g = _mm256_loadu_ps(gate + i)
        let e = avx2Exp(_mm256_sub_ps(_mm256_setzero_ps(), g))
        _mm256_storeu_ps(gate + i, _mm256_mul_ps(_mm256_div_ps(g, _mm256_add_ps(one, e)), _mm256_loadu_ps(up + i)))
        i &+= 8
    }
    while i < count {
        let g = gate[i]
        gate[i] = g / (1 + avx2Exp(_mm256_set1_ps(-g))[0]) * up[i]
        i &+= 1
    }
}

/// gate[i] = gelu(gate[i]) · up[i], in place, GELU's tanh form:
/// x/2 · (1 + tanh(u)) = x / (1 + e^(−2u)), u = √(2/π)(x + 0.044715 x³).
/// For very negative x, e^(−2u) overflows to +inf and the result is −0, as it should be.
public func avx2GeGLU(_ gate: UnsafeMutablePointer<Float>, _ up: UnsafePointer<Float>, count: Int) {
    let one = _mm256_set1_ps(1)
    let minusTwoK = _mm256_set1_ps(-2 * 0.797_884_560_802_865_4), cubic = _mm256_set1_ps(0.044_715)
    var i = 0
    while i &+ 8 <= count {
        let g = _mm256_loadu_ps(gate + i)
        let inner = _mm256_fmadd_ps(_mm256_mul_ps(cubic, g), _mm256_mul_ps(g, g), g)  // x + 0.044715 x³
        let e = avx2Exp(_mm256_mul_ps(minusTwoK, inner))
        _mm256_storeu_ps(gate + i, _mm256_mul_ps(_mm256_div_ps(g, _mm256_add_ps(one, e)), _mm256_loadu_ps(up + i)))
        i &+= 8
    }
    while i < count {
        let g = gate[i]
        let inner = g + 0.044_715 * g * g * g
        gate[i] = g / (1 + avx2Exp(_mm256_set1_ps(-2 * 0.797_884_560_802_865_4 * inner))[0]) * up[i]
        i &+= 1
    }
}
/// x = gelu(x) in GELU's exact form x/2 · (1 + erf(x/√2)), in place (BERT).
/// erf by Abramowitz & Stegun 7.1.26: erf(z) = 1 − t·P(t)·e^(−z²) for z ≥ 0,
/// t = 1/(1 + 0.3275911 z), P of degree 4; absolute error ≤ 1.5e-7, about
/// fp32's own rounding of erf near 1, and odd in z. libm's erff took a sixth
/// of an encoder's time. Tests/python/test_kernels.py checks the bound.
public func avx2GeluErf(_ x: UnsafeMutablePointer<Float>, count: Int) {
    var i = 0
    while i &+ 8 <= count {
        _mm256_storeu_ps(x + i, geluErf(_mm256_loadu_ps(x + i)))
        i &+= 8
    }
    while i < count {
        x[i] = geluErf(_mm256_set1_ps(x[i]))[0]
        i &+= 1
    }
}

@inline(__always)
private func geluErf(_ x: __m256) -> __m256 {
    let z = _mm256_mul_ps(x, _mm256_set1_ps(0.707_106_781_186_547_5))
    let signBit = _mm256_set1_ps(-0.0)
    let a = _mm256_andnot_ps(signBit, z)  // |z|
    let one = _mm256_set1_ps(1)
    let t = _mm256_div_ps(one, _mm256_fmadd_ps(_mm256_set1_ps(0.327_591_1), a, one))
    var p = _mm256_set1_ps(1.061_405_429)
    p = _mm256_fmadd_ps(p, t, _mm256_set1_ps(-1.453_152_027))
    p = _mm256_fmadd_ps(p, t, _mm256_set1_ps(1.421_413_741))
    p = _mm256_fmadd_ps(p, t, _mm256_set1_ps(-0.284_496_736))
    p = _mm256_fmadd_ps(p, t, _mm256_set1_ps(0.254_829_592))
    let tail = _mm256_mul_ps(_mm256_mul_ps(p, t), avx2Exp(_mm256_sub_ps(_mm256_setzero_ps(), _mm256_mul_ps(a, a))))
    let erfAbs = _mm256_sub_ps(one, tail)
    let erf = _mm256_or_ps(erfAbs, _mm256_and_ps(signBit, z))  // erf is odd
    return _mm256_mul_ps(_mm256_mul_ps(_mm256_set1_ps(0.5), x), _mm256_add_ps(one, erf))
}
#endif
