// IQ4_XS weights times Q8_K-shaped activations, for x86-64 with AVX2 + FMA +
// F16C (compiled with -target-cpu haswell; called only after the CPU check).
// A nibble is an index into 16 signed levels, so pshufb on a register holding
// the table (iq4NonLinearLevels) turns 32 nibbles into 32 int8 weights at a
// time. maddubs wants unsigned × signed bytes: it takes |w| and the
// activations with w's sign moved onto them, as the Q8_0 kernel does.
// Two 32-value sub-blocks are taken together: one 32-byte load of their
// nibbles gives, in its low nibbles, values 0–15 of each (low lane the first
// sub-block, high lane the second) and in its high nibbles values 16–31, so
// the activations are loaded in 16-byte halves to match, and both products
// share one scale vector. Measured on Zen 3 (one thread, 576×1536, weights
// in L2): 11 GB/s of weights read, compute-bound; the portable loops 0.7.
#if arch(x86_64)
import _Builtin_intrinsics.intel
import CSwiftletSupport
import SwiftletWeightFormats

/// output[t·outputStride + r] = weight row r · activation row t for r in
/// `rows`, t < `tokens`: IQ4_XS super-blocks (value = d·(scale − 32)·level(q)
/// per 32 values) times 256-value activation blocks (SuperBlockActivationLayout;
/// the sums are not needed: the levels carry no offset).
public func avx2IQ4_XSMatrixProduct(
    weights: UnsafeRawPointer, rowByteCount: Int, blocksPerRow: Int, rows: Range<Int>,
    activations: UnsafePointer<Int8>, activationScales: UnsafePointer<Float>, activationSums: UnsafePointer<Int16>,
    tokens: Int, output: UnsafeMutablePointer<Float>, outputStride: Int
) {
    superBlockRows(rowByteCount: rowByteCount, blocksPerRow: blocksPerRow, rows: rows, weights: weights,
                   activations: activations, activationScales: activationScales, activationSums: activationSums,
                   tokens: tokens, output: output, outputStride: outputStride) { row, x, scales, _, blocks in
        dotIQ4_XS(row, x, scales, blocks)
    }
}

/// IQ4_XS's eight scales − 32 as int16 in both 128-bit lanes. Sub-block s has
/// its low nibble in nibble s of scales_l and its top two bits in bits 2s… of
/// scales_h; shifts and masks spread both to one byte per sub-block.
@inline(__always)
private func iq4_XSScales(_ block: UnsafeRawPointer) -> __m256i {
    var low = UInt64(block.loadUnaligned(fromByteOffset: IQ4_XSLayout.scalesLow, as: UInt32.self))
    low = (low | low &<< 16) & 0x0000_FFFF_0000_FFFF
    low = (low | low &<< 8) & 0x00FF_00FF_00FF_00FF
    low = (low | low &<< 4) & 0x0F0F_0F0F_0F0F_0F0F
    var high = UInt64(block.loadUnaligned(fromByteOffset: IQ4_XSLayout.scalesHigh, as: UInt16.self))
    high = (high | high &<< 24) & 0x0000_00FF_0000_00FF
    high = (high | high &<< 12) & 0x000F_000F_000F_000F
    high = (high | high &<< 6) & 0x0303_0303_0303_0303
    let biased = _mm_cvtsi64_si128(Int64(bitPattern: low | high &<< 4))
    let scales = _mm_cvtepi8_epi16(_mm_sub_epi8(biased, _mm_set1_epi8(32)))
    return _mm256_broadcastsi128_si256(scales)
}

/// Σ_j (scale_j − 32)·Σ level(q)·x per super-block in int32: maddubs pairs
/// ≤ 2·127·127 < 2^15 fit int16; each int32 lane adds 32 products, at most
/// 32·32·127² < 2^24, so it converts to float exactly before d·d_x.
@inline(__always)
private func dotIQ4_XS(_ row: UnsafeRawPointer, _ x: UnsafePointer<Int8>, _ xScales: UnsafePointer<Float>,
                       _ blocks: Int) -> Float {
    let blockBytes = WeightFormat.iq4_xs.bytesPerBlock
    let levels = _mm256_broadcastsi128_si256(unsafeBitCast(iq4NonLinearLevels, to: __m128i.self))
    let lowNibbles = _mm256_set1_epi8(0x0F)
    var sum = _mm256_setzero_ps()
    var block = 0
    while block < blocks {
        let base = row + block &* blockBytes
        let a = UnsafeRawPointer(x + block &* WeightFormat.valuesPerSuperBlock)
        let scales = iq4_XSScales(base)
        var products = _mm256_setzero_si256()
        for pair in 0..<4 {
            let nibbles = _mm256_loadu_si256((base + IQ4_XSLayout.nibbles + 32 &* pair).assumingMemoryBound(to: __m256i.self))
            let first = _mm256_shuffle_epi8(levels, _mm256_and_si256(nibbles, lowNibbles))
            let second = _mm256_shuffle_epi8(levels, _mm256_and_si256(_mm256_srli_epi16(nibbles, 4), lowNibbles))
            let x0 = a + 64 &* pair, x1 = x0 + 32
            let scale = _mm256_shuffle_epi8(scales, wordPairSelector(2 &* pair))
            products = _mm256_add_epi32(products, _mm256_madd_epi16(scale, signedPairs(first, load128Pair(x0, x1))))
            products = _mm256_add_epi32(products, _mm256_madd_epi16(scale, signedPairs(second, load128Pair(x0 + 16, x1 + 16))))
        }
        let d = Float(base.loadUnaligned(fromByteOffset: IQ4_XSLayout.d, as: Float16.self))
        sum = _mm256_fmadd_ps(_mm256_set1_ps(d * xScales[block]), _mm256_cvtepi32_ps(products), sum)
        block &+= 1
    }
    return horizontalSum(sum)
}

/// 16 bytes at `low` in the low lane and 16 at `high` in the high lane.
@inline(__always)
private func load128Pair(_ low: UnsafeRawPointer, _ high: UnsafeRawPointer) -> __m256i {
    _mm256_set_m128i(_mm_loadu_si128(high.assumingMemoryBound(to: __m128i.self)),
                     _mm_loadu_si128(low.assumingMemoryBound(to: __m128i.self)))
}

/// w · a as 16 int16 pair sums for signed w and a: |w| times a with w's sign.
@inline(__always)
private func signedPairs(_ w: __m256i, _ a: __m256i) -> __m256i {
    _mm256_maddubs_epi16(_mm256_sign_epi8(w, w), _mm256_sign_epi8(a, w))
}
#endif
