// IQ4_NL weight blocks times int8 activations, for x86-64 with AVX2 + FMA +
// F16C (compiled with -target-cpu haswell; called only after the CPU check).
// The nibbles are indexes into 16 signed int8 levels: one byte shuffle looks
// all 32 up at once, and the levels then multiply as Q8_0's values do
// (maddubs of |w| with x carrying w's sign), from half of Q8_0's bytes.
#if arch(x86_64)
import _Builtin_intrinsics.intel
import CSwiftletSupport
import SwiftletWeightFormats

/// output[t · outputStride + r] = weight row r · activation row t for every r
/// in `rows` and t < `tokens`, for IQ4_NL blocks (d, nibbles; value =
/// d·iq4NonLinearLevels[q]). The levels have no offset, so `activationSums`
/// is not read; it is taken to match the other 32-value kernels.
public func avx2IQ4_NLMatrixProduct(
    weights: UnsafeRawPointer, rowByteCount: Int, blocksPerRow: Int, rows: Range<Int>,
    activations: UnsafePointer<Int8>, activationScales: UnsafePointer<Float>, activationSums: UnsafePointer<Float>,
    tokens: Int, output: UnsafeMutablePointer<Float>, outputStride: Int
) {
    let columns = blocksPerRow &* WeightFormat.valuesPerBlock
    let levels = _mm256_broadcastsi128_si256(unsafeBitCast(iq4NonLinearLevels, to: __m128i.self))
    for row in rows {
        let rowBase = weights + row &* rowByteCount
        slc_prefetch_weight_row(rowBase, rowByteCount)
        var token = 0
        while token < tokens {
            output[token &* outputStride &+ row] = rowDot(
                rowBase, activations + token &* columns, activationScales + token &* blocksPerRow, blocksPerRow, levels)
            token &+= 1
        }
    }
}

/// One row · one token, in two accumulator chains (even and odd blocks) so a
/// block need not wait for the previous one's fused multiply-add. The scales
/// d·d_x of eight blocks are made at once first (as in avx2Q8MatrixProduct):
/// one conversion and one multiply instead of eight of each on the vector ports.
@inline(__always)
private func rowDot(_ row: UnsafeRawPointer, _ x: UnsafePointer<Int8>, _ scales: UnsafePointer<Float>, _ blocks: Int,
                    _ levels: __m256i) -> Float {
    let blockBytes = WeightFormat.iq4_nl.bytesPerBlock
    var even = _mm256_setzero_ps(), odd = _mm256_setzero_ps()
    var groupScales = SIMD8<Float>()
    var block = 0
    while block &+ 8 <= blocks {
        let base = row + block &* blockBytes
        groupScales = _mm256_mul_ps(_mm256_cvtph_ps(eightHalves(base, blockBytes)), _mm256_loadu_ps(scales + block))
        withUnsafePointer(to: &groupScales) { pointer in
            let s = UnsafeRawPointer(pointer).assumingMemoryBound(to: Float.self)
            var i = 0
            while i < 8 {
                even = accumulate(base + i &* blockBytes, x + (block &+ i) &* 32, s[i], levels, even)
                odd = accumulate(base + (i &+ 1) &* blockBytes, x + (block &+ i &+ 1) &* 32, s[i &+ 1], levels, odd)
                i &+= 2
            }
        }
        block &+= 8
    }
    while block < blocks {
        let base = row + block &* blockBytes
        let scale = Float(base.loadUnaligned(as: Float16.self)) * scales[block]
        even = accumulate(base, x + block &* 32, scale, levels, even)
        swap(&even, &odd)
        block &+= 1
    }
    return horizontalSum(_mm256_add_ps(even, odd))
}

/// sum + scale·Σ w·x_q for the block at `block` and its activations `x`, as 8 lanes.
@inline(__always)
private func accumulate(_ block: UnsafeRawPointer, _ x: UnsafePointer<Int8>, _ scale: Float, _ levels: __m256i,
                        _ sum: __m256) -> __m256 {
    let packed = _mm_loadu_si128((block + WeightFormat.iq4_nl.valuesOffset).assumingMemoryBound(to: __m128i.self))
    let nibbleMask = _mm_set1_epi8(0x0F)
    // Value order (lows, then highs); the shuffle looks each lane up in its copy of the levels.
    let indexes = _mm256_set_m128i(_mm_and_si128(_mm_srli_epi16(packed, 4), nibbleMask), _mm_and_si128(packed, nibbleMask))
    let w = _mm256_shuffle_epi8(levels, indexes)
    let a = _mm256_loadu_si256(UnsafeRawPointer(x).assumingMemoryBound(to: __m256i.self))
    // maddubs multiplies unsigned by signed bytes: move w's sign onto a.
    // |w| ≤ 127 and |a| ≤ 127, so each pair sum ≤ 32258 fits int16; each
    // int32 lane ≤ 4 · 127 · 127 converts to float exactly.
    let products = _mm256_maddubs_epi16(_mm256_sign_epi8(w, w), _mm256_sign_epi8(a, w))
    let dots = _mm256_cvtepi32_ps(_mm256_madd_epi16(products, _mm256_set1_epi16(1)))
    return _mm256_fmadd_ps(_mm256_set1_ps(scale), dots, sum)
}
#endif
