// Activation quantization for x86-64 with AVX2 (compiled with -target-cpu
// haswell; called only after the CPU check). Per 32-value block: d = max|x|/127,
// q = x/d rounded half away from zero, and d·Σq for 4-bit weights with an offset.
#if arch(x86_64)
import _Builtin_intrinsics.intel

public func avx2QuantizeRow(_ input: UnsafePointer<Float>, values: UnsafeMutablePointer<Int8>,
                            scales: UnsafeMutablePointer<Float>, sums: UnsafeMutablePointer<Float>, count: Int) {
    let signBit = _mm256_set1_ps(-0.0)
    // The largest float below 0.5: adding it (with x's sign) and truncating
    // rounds half away from zero exactly, as C's roundf does (ties included).
    let almostHalf = _mm256_set1_ps(Float(0.5).nextDown)
    // packs leaves the bytes of its 128-bit lanes interleaved; this puts them in order.
    let order = _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7)
    var block = 0
    while block &* 32 < count {
        let x = input + block &* 32
        let v0 = _mm256_loadu_ps(x), v1 = _mm256_loadu_ps(x + 8)
        let v2 = _mm256_loadu_ps(x + 16), v3 = _mm256_loadu_ps(x + 24)
        let magnitudes = _mm256_max_ps(_mm256_max_ps(_mm256_andnot_ps(signBit, v0), _mm256_andnot_ps(signBit, v1)),
                                       _mm256_max_ps(_mm256_andnot_ps(signBit, v2), _mm256_andnot_ps(signBit, v3)))
        let largest = horizontalMaximum(magnitudes)
        let scale = largest / 127
        let inverse = _mm256_set1_ps(scale != 0 ? 1 / scale : 0)
        func rounded(_ v: __m256) -> __m256i {
            let y = _mm256_mul_ps(v, inverse)
            let nudge = _mm256_or_ps(_mm256_and_ps(y, signBit), almostHalf)
            return _mm256_cvttps_epi32(_mm256_add_ps(y, nudge))
        }
        let r0 = rounded(v0), r1 = rounded(v1), r2 = rounded(v2), r3 = rounded(v3)
        let bytes = _mm256_packs_epi16(_mm256_packs_epi32(r0, r1), _mm256_packs_epi32(r2, r3))
        _mm256_storeu_si256(UnsafeMutableRawPointer(values + block &* 32).assumingMemoryBound(to: __m256i.self),
                            _mm256_permutevar8x32_epi32(bytes, order))
        let total = unsafeBitCast(_mm256_add_epi32(_mm256_add_epi32(r0, r1), _mm256_add_epi32(r2, r3)),
                                  to: SIMD8<Int32>.self)
        var sum: Int32 = 0
        for lane in 0..<8 { sum &+= total[lane] }  // |sum| ≤ 32 · 127
        scales[block] = scale
        sums[block] = scale * Float(sum)
        block &+= 1
    }
}

@inline(__always)
func horizontalMaximum(_ v: __m256) -> Float {
    let halves = v  // __m256 imports as SIMD8<Float>
    let four = _mm_max_ps(halves.lowHalf, halves.highHalf)
    let two = _mm_max_ps(four, _mm_movehl_ps(four, four))
    return _mm_max_ss(two, _mm_movehdup_ps(two))[0]
}
#endif
