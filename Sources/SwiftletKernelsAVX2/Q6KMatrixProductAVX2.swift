// Q6_K super-blocks (256 values: sixteen 16-value sub-blocks, each with an
// int8 scale; value = d·scale·(q − 32)) times Q8_K-shaped activations
// (SuperBlockActivationLayout), for x86-64 with AVX2 + FMA + F16C (compiled
// with -target-cpu haswell; called only after the CPU check). Per super-block
// the 6-bit values are assembled in registers from their low nibbles and high
// bit pairs, multiplied with the activation bytes as unsigned q (maddubs),
// weighted by the sub-block scales as int16 (madd) and summed in int32; the
// −32 offset is folded in once per super-block from the activations' int16
// sums (−32·Σ_k scale_k·sum_k), as llama.cpp does. Only then does d enter, in float.
// Measured (one core, weights in L2/L3, a shared 2-core machine): about 21 GB/s
// of Q6_K weights, where the Q4_0 kernel reads 10.
#if arch(x86_64)
import _Builtin_intrinsics.intel
import CSwiftletSupport
import SwiftletWeightFormats

/// output[t·outputStride + r] = weight row r · activation row t for every r in
/// `rows` and t < `tokens`, for Q6_K weights. `blocksPerRow` counts
/// super-blocks; `activationSums` holds the 16 int16 sums of each activation super-block.
public func avx2Q6_KMatrixProduct(
    weights: UnsafeRawPointer, rowByteCount: Int, blocksPerRow: Int, rows: Range<Int>,
    activations: UnsafePointer<Int8>, activationScales: UnsafePointer<Float>, activationSums: UnsafePointer<Int16>,
    tokens: Int, output: UnsafeMutablePointer<Float>, outputStride: Int
) {
    superBlockRows(rowByteCount: rowByteCount, blocksPerRow: blocksPerRow, rows: rows, weights: weights,
                   activations: activations, activationScales: activationScales, activationSums: activationSums,
                   tokens: tokens, output: output, outputStride: outputStride, rowProduct)
}

/// One weight row · one activation row.
///
/// Overflow bounds: q ≤ 63 times |x| ≤ 127, maddubs pairs ≤ 2·63·127 = 16002 < 2^15
/// (no saturation); madd with |scale| ≤ 128 gives ≤ 2·128·16002 ≈ 4.1M per
/// lane, 8 of them per int32 lane ≈ 32.8M; the offset 32·Σ scale·sum is at
/// most 32·2·128·2032 ≈ 16.6M per lane: all far below 2^31.
@inline(__always)
private func rowProduct(_ row: UnsafeRawPointer, _ x: UnsafePointer<Int8>, _ xScales: UnsafePointer<Float>,
                        _ xSums: UnsafePointer<Int16>, _ blocks: Int) -> Float {
    let blockBytes = WeightFormat.q6_K.bytesPerBlock
    let lowNibbles = _mm256_set1_epi8(0x0F), highPair = _mm256_set1_epi8(0x30)
    var sum = _mm256_setzero_ps()
    var block = 0
    while block < blocks {
        let base = row + block &* blockBytes
        let a = x + block &* WeightFormat.valuesPerSuperBlock

        // Σ_i scale·(q_i − 32)·x_i = Σ_i scale·q_i·x_i − 32·Σ_k scale_k·(Σ x over sub-block k).
        let allScales = _mm256_cvtepi8_epi16(_mm_loadu_si128((base + Q6_KLayout.scales).assumingMemoryBound(to: __m128i.self)))
        let sums = loadVector(xSums + block &* SuperBlockActivationLayout.sumsPerBlock)
        var products = _mm256_sub_epi32(_mm256_setzero_si256(), _mm256_slli_epi32(_mm256_madd_epi16(allScales, sums), 5))

        // Each 128 values: 64 bytes of low nibbles, 32 of high bit pairs; value
        // 32s + l takes nibble s / 2 of low byte l + 32·(s % 2) and bits 2s… of high byte l.
        var half = 0
        while half < 2 {
            let lowBits = base + (Q6_KLayout.lowBits &+ half &* 64)
            let lowFirst = loadVector(lowBits), lowSecond = loadVector(lowBits + 32)
            let highBits = loadVector(base + (Q6_KLayout.highBits &+ half &* 32))
            // 16-bit shifts; the mask keeps bits 4–5 of each byte, which came from inside that byte.
            let q0 = _mm256_or_si256(_mm256_and_si256(lowFirst, lowNibbles),
                                     _mm256_and_si256(_mm256_slli_epi16(highBits, 4), highPair))
            let q1 = _mm256_or_si256(_mm256_and_si256(lowSecond, lowNibbles),
                                     _mm256_and_si256(_mm256_slli_epi16(highBits, 2), highPair))
            let q2 = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(lowFirst, 4), lowNibbles),
                                     _mm256_and_si256(highBits, highPair))
            let q3 = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(lowSecond, 4), lowNibbles),
                                     _mm256_and_si256(_mm256_srli_epi16(highBits, 2), highPair))
            // The half's eight scales as int16 in both 128-bit lanes: values 0–15 of
            // each 32 (the low lane of a product) use scale 2s, values 16–31 scale 2s + 1.
            let halfScales = _mm256_cvtepi8_epi16(_mm_set1_epi64x(
                base.loadUnaligned(fromByteOffset: Q6_KLayout.scales &+ half &* 8, as: Int64.self)))
            let values = a + half &* 128
            let p0 = scaledProducts(q0, loadVector(values), halfScales, 0)
            let p1 = scaledProducts(q1, loadVector(values + 32), halfScales, 1)
            let p2 = scaledProducts(q2, loadVector(values + 64), halfScales, 2)
            let p3 = scaledProducts(q3, loadVector(values + 96), halfScales, 3)
            products = _mm256_add_epi32(products, _mm256_add_epi32(_mm256_add_epi32(p0, p1), _mm256_add_epi32(p2, p3)))
            half &+= 1
        }

        let d = Float(base.loadUnaligned(fromByteOffset: Q6_KLayout.d, as: Float16.self))
        sum = _mm256_fmadd_ps(_mm256_set1_ps(d * xScales[block]), _mm256_cvtepi32_ps(products), sum)
        block &+= 1
    }
    return horizontalSum(sum)
}

/// scale·(q·x) summed in pairs of 16-value halves, as 8 int32: `q` the 32
/// unsigned 6-bit values of part `s` (0…3) of a half, `x` their activations,
/// `halfScales` the half's eight scales as int16 in both lanes.
@inline(__always)
private func scaledProducts(_ q: __m256i, _ x: __m256i, _ halfScales: __m256i, _ s: Int) -> __m256i {
    // Low lane: int16 number 2s (bytes 4s, 4s + 1); high lane: 2s + 1 (bytes 4s + 2, 4s + 3).
    let broadcast = _mm256_set_m128i(_mm_set1_epi16(Int16(truncatingIfNeeded: 0x0302 &+ 0x0404 &* s)),
                                     _mm_set1_epi16(Int16(truncatingIfNeeded: 0x0100 &+ 0x0404 &* s)))
    return _mm256_madd_epi16(_mm256_shuffle_epi8(halfScales, broadcast), _mm256_maddubs_epi16(q, x))
}

#endif
