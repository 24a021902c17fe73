// Q2_K and Q3_K weights times Q8_K-shaped activations, for x86-64 with AVX2 +
// FMA + F16C (compiled with -target-cpu haswell; called only after the CPU
// check). Both keep 2-bit values the same way: per 128-value half, 32 bytes
// whose bit pair s holds values 32·s… of the half, so one 32-byte load and a
// shift and mask give 32 values in order, bytes 0–15 from sub-block
// 8·half + 2·s and bytes 16–31 from the next. maddubs (unsigned value ×
// signed activation) makes int16 pair sums, and madd with the sub-block
// scales (word k of the low 128-bit lane the first sub-block's, of the high
// lane the second's) weights and widens them to int32 in one instruction.
// A super-block's integer sums stay exact in int32; its float scales come once.
// One accumulator chain: a super-block is some 60–90 vector instructions, so
// the 4-cycle fused multiply-add that closes it never waits on the previous.
// Measured on Zen 3 (one thread, 576×1536, weights in L2): Q2_K 10 GB/s,
// Q3_K 9 GB/s of weights read, compute-bound; the portable loops reach 1.
#if arch(x86_64)
import _Builtin_intrinsics.intel
import CSwiftletSupport
import SwiftletWeightFormats

/// output[t·outputStride + r] = weight row r · activation row t for r in
/// `rows`, t < `tokens`: Q2_K super-blocks (value = d·scale·q − dmin·min per
/// 16 values) times 256-value activation blocks with one scale and 16 Int16
/// sums each (SuperBlockActivationLayout).
public func avx2Q2_KMatrixProduct(
    weights: UnsafeRawPointer, rowByteCount: Int, blocksPerRow: Int, rows: Range<Int>,
    activations: UnsafePointer<Int8>, activationScales: UnsafePointer<Float>, activationSums: UnsafePointer<Int16>,
    tokens: Int, output: UnsafeMutablePointer<Float>, outputStride: Int
) {
    superBlockRows(rowByteCount: rowByteCount, blocksPerRow: blocksPerRow, rows: rows, weights: weights,
                   activations: activations, activationScales: activationScales, activationSums: activationSums,
                   tokens: tokens, output: output, outputStride: outputStride, dotQ2_K)
}

/// As avx2Q2_KMatrixProduct, for Q3_K super-blocks (value = d·(scale − 32)·(q − 4)
/// with q = low two bits + 4·hmask bit, per 16 values).
public func avx2Q3_KMatrixProduct(
    weights: UnsafeRawPointer, rowByteCount: Int, blocksPerRow: Int, rows: Range<Int>,
    activations: UnsafePointer<Int8>, activationScales: UnsafePointer<Float>, activationSums: UnsafePointer<Int16>,
    tokens: Int, output: UnsafeMutablePointer<Float>, outputStride: Int
) {
    superBlockRows(rowByteCount: rowByteCount, blocksPerRow: blocksPerRow, rows: rows, weights: weights,
                   activations: activations, activationScales: activationScales, activationSums: activationSums,
                   tokens: tokens, output: output, outputStride: outputStride, dotQ3_K)
}

@inline(__always)
private func load256(_ pointer: UnsafeRawPointer) -> __m256i {
    _mm256_loadu_si256(pointer.assumingMemoryBound(to: __m256i.self))
}

/// The 32 values of bit pair `shift` (0…3) of a half's 32 value bytes, as bytes 0…3.
@inline(__always)
private func twoBitValues(_ bits: __m256i, _ shift: Int) -> __m256i {
    _mm256_and_si256(_mm256_srli_epi16(bits, Int32(2 &* shift)), _mm256_set1_epi8(3))
}

/// pshufb indexes that zero-extend byte `first` into every word of the low
/// lane and byte `first + 1` into the high lane (0x80 zeroes the high bytes).
@inline(__always)
private func bytePairSelector(_ first: Int) -> __m256i {
    _mm256_set_m128i(_mm_set1_epi16(Int16(bitPattern: 0x8000 | UInt16(first &+ 1))),
                     _mm_set1_epi16(Int16(bitPattern: 0x8000 | UInt16(first))))
}

/// Q2_K. Per super-block in int32: Σ_j scale_j·Σ q·x (|·| ≤ 256·15·3·127 < 2^21)
/// and Σ_j min_j·Σ x (≤ 16·15·2032 < 2^19); maddubs pairs ≤ 2·3·127 fit int16.
/// Each lane is converted exactly (< 2^24), then scaled by d·d_x and dmin·d_x.
@inline(__always)
private func dotQ2_K(_ row: UnsafeRawPointer, _ x: UnsafePointer<Int8>, _ xScales: UnsafePointer<Float>,
                     _ xSums: UnsafePointer<Int16>, _ blocks: Int) -> Float {
    let blockBytes = WeightFormat.q2_K.bytesPerBlock, lowNibbles = _mm_set1_epi8(0x0F)
    var sum = _mm256_setzero_ps()
    var block = 0
    while block < blocks {
        let base = row + block &* blockBytes
        let a = UnsafeRawPointer(x + block &* WeightFormat.valuesPerSuperBlock)
        // 16 scale bytes: low nibble the sub-block's scale, high nibble its min.
        let packed = _mm_loadu_si128((base + Q2_KLayout.scales).assumingMemoryBound(to: __m128i.self))
        let mins = _mm256_cvtepu8_epi16(_mm_and_si128(_mm_srli_epi16(packed, 4), lowNibbles))
        let minimums = _mm256_madd_epi16(mins, load256(xSums + block &* SuperBlockActivationLayout.sumsPerBlock))
        let scales = _mm256_broadcastsi128_si256(_mm_and_si128(packed, lowNibbles))
        var products = _mm256_setzero_si256()
        for half in 0..<2 {
            let bits = load256(base + Q2_KLayout.values + 32 &* half)
            for shift in 0..<4 {
                let q = twoBitValues(bits, shift)
                let scale = _mm256_shuffle_epi8(scales, bytePairSelector(8 &* half &+ 2 &* shift))
                let pairs = _mm256_maddubs_epi16(q, load256(a + (128 &* half &+ 32 &* shift)))
                products = _mm256_add_epi32(products, _mm256_madd_epi16(scale, pairs))
            }
        }
        let d = Float(base.loadUnaligned(fromByteOffset: Q2_KLayout.d, as: Float16.self))
        let dmin = Float(base.loadUnaligned(fromByteOffset: Q2_KLayout.dmin, as: Float16.self))
        sum = _mm256_fmadd_ps(_mm256_set1_ps(d * xScales[block]), _mm256_cvtepi32_ps(products), sum)
        sum = _mm256_fnmadd_ps(_mm256_set1_ps(dmin * xScales[block]), _mm256_cvtepi32_ps(minimums), sum)
        block &+= 1
    }
    return horizontalSum(sum)
}

/// Q3_K's sixteen scales − 32 as int16, sub-blocks 0–7 in the low lane, 8–15
/// in the high. Per group of four sub-blocks the low nibbles sit in a nibble
/// of bytes 0–7 and the top two bits in a bit pair of bytes 8–11 (decodeQ3_KBlock).
@inline(__always)
private func q3_KScales(_ block: UnsafeRawPointer) -> __m256i {
    let lowNibbles: UInt32 = 0x0F0F_0F0F, topBits: UInt32 = 0x3030_3030
    let first = block.loadUnaligned(fromByteOffset: Q3_KLayout.scales, as: UInt32.self)
    let second = block.loadUnaligned(fromByteOffset: Q3_KLayout.scales + 4, as: UInt32.self)
    let high = block.loadUnaligned(fromByteOffset: Q3_KLayout.scales + 8, as: UInt32.self)
    let scales0to3 = first & lowNibbles | high &<< 4 & topBits
    let scales4to7 = second & lowNibbles | high &<< 2 & topBits
    let scales8to11 = first &>> 4 & lowNibbles | high & topBits
    let scales12to15 = second &>> 4 & lowNibbles | high &>> 2 & topBits
    let biased = _mm_set_epi32(Int32(bitPattern: scales12to15), Int32(bitPattern: scales8to11),
                               Int32(bitPattern: scales4to7), Int32(bitPattern: scales0to3))
    return _mm256_cvtepi8_epi16(_mm_sub_epi8(biased, _mm_set1_epi8(32)))
}

/// Q3_K, with q = low bits + 4·hmask bit (0…7) and the −4 folded into the
/// activation sums: Σ_j s_j·Σ (q − 4)·x = Σ_j s_j·Σ q·x − 4·Σ_j s_j·Σ x.
/// maddubs pairs ≤ 2·7·127 fit int16; the super-block's sum in int32 is at
/// most 256·32·4·127 < 2^23 (each part < 2^23 too), exact in float per lane.
@inline(__always)
private func dotQ3_K(_ row: UnsafeRawPointer, _ x: UnsafePointer<Int8>, _ xScales: UnsafePointer<Float>,
                     _ xSums: UnsafePointer<Int16>, _ blocks: Int) -> Float {
    let blockBytes = WeightFormat.q3_K.bytesPerBlock
    var sum = _mm256_setzero_ps()
    var block = 0
    while block < blocks {
        let base = row + block &* blockBytes
        let a = UnsafeRawPointer(x + block &* WeightFormat.valuesPerSuperBlock)
        let scales = q3_KScales(base)
        let offsets = _mm256_madd_epi16(scales, load256(xSums + block &* SuperBlockActivationLayout.sumsPerBlock))
        var products = _mm256_sub_epi32(_mm256_setzero_si256(), _mm256_slli_epi32(offsets, 2))
        let highBits = load256(base + Q3_KLayout.highBits)
        for half in 0..<2 {
            let bits = load256(base + Q3_KLayout.values + 32 &* half)
            // Both lanes hold this half's eight scales, for the word selector.
            let halfScales = _mm256_broadcastsi128_si256(half == 0 ? scales.lowHalf : scales.highHalf)
            for shift in 0..<4 {
                // Value l's hmask bit is bit 4·half + shift of byte l: moved to bit 2, it adds 4.
                let bit = 4 &* half &+ shift
                let moved = bit >= 2 ? _mm256_srli_epi16(highBits, Int32(bit &- 2))
                                     : _mm256_slli_epi16(highBits, Int32(2 &- bit))
                let q = _mm256_or_si256(twoBitValues(bits, shift), _mm256_and_si256(moved, _mm256_set1_epi8(4)))
                let scale = _mm256_shuffle_epi8(halfScales, wordPairSelector(2 &* shift))
                let pairs = _mm256_maddubs_epi16(q, load256(a + (128 &* half &+ 32 &* shift)))
                products = _mm256_add_epi32(products, _mm256_madd_epi16(scale, pairs))
            }
        }
        let d = Float(base.loadUnaligned(fromByteOffset: Q3_KLayout.d, as: Float16.self))
        sum = _mm256_fmadd_ps(_mm256_set1_ps(d * xScales[block]), _mm256_cvtepi32_ps(products), sum)
        block &+= 1
    }
    return horizontalSum(sum)
}
#endif
