// Q4_K and Q5_K super-blocks (256 values: eight 32-value sub-blocks, each with
// a 6-bit scale and min) times Q8_K-shaped activations (SuperBlockActivationLayout),
// for x86-64 with AVX2 + FMA + F16C (compiled with -target-cpu haswell; called
// only after the CPU check). The arithmetic is llama.cpp's ggml_vec_dot_q4_K_q8_K:
// per super-block the nibbles (and Q5_K's fifth bits) are unpacked in registers,
// multiplied with the activation bytes (maddubs), weighted by the sub-block
// scales as int16 (madd) and summed in int32; the mins come from the
// activations' int16 sums, one madd per super-block. Only then do the fp16
// scales d, dmin and the activation scale enter, in float.
// Measured (one core, weights in L2/L3, a shared 2-core machine): about 15 GB/s
// of Q4_K/Q5_K weights, where the Q4_0 kernel reads 10; the scale unpacking
// is done in a vector register, as scalar words inserted into one cost more
// shuffle-port time than the rest of a super-block's unpacking.
#if arch(x86_64)
import _Builtin_intrinsics.intel
import CSwiftletSupport
import SwiftletWeightFormats

/// output[t·outputStride + r] = weight row r · activation row t for every r in
/// `rows` and t < `tokens`, for Q4_K weights (value = d·scale·q − dmin·min).
/// `blocksPerRow` counts super-blocks; `activationSums` holds the 16 int16 sums
/// of each activation super-block.
public func avx2Q4_KMatrixProduct(
    weights: UnsafeRawPointer, rowByteCount: Int, blocksPerRow: Int, rows: Range<Int>,
    activations: UnsafePointer<Int8>, activationScales: UnsafePointer<Float>, activationSums: UnsafePointer<Int16>,
    tokens: Int, output: UnsafeMutablePointer<Float>, outputStride: Int
) {
    scaleMinMatrixProduct(hasFifthBits: false, weights: weights, rowByteCount: rowByteCount, blocksPerRow: blocksPerRow,
                          rows: rows, activations: activations, activationScales: activationScales,
                          activationSums: activationSums, tokens: tokens, output: output, outputStride: outputStride)
}

/// As avx2Q4_KMatrixProduct, for Q5_K weights (Q4_K with a fifth bit per value).
public func avx2Q5_KMatrixProduct(
    weights: UnsafeRawPointer, rowByteCount: Int, blocksPerRow: Int, rows: Range<Int>,
    activations: UnsafePointer<Int8>, activationScales: UnsafePointer<Float>, activationSums: UnsafePointer<Int16>,
    tokens: Int, output: UnsafeMutablePointer<Float>, outputStride: Int
) {
    scaleMinMatrixProduct(hasFifthBits: true, weights: weights, rowByteCount: rowByteCount, blocksPerRow: blocksPerRow,
                          rows: rows, activations: activations, activationScales: activationScales,
                          activationSums: activationSums, tokens: tokens, output: output, outputStride: outputStride)
}

/// Both products; `hasFifthBits` is a constant at each call, so each gets its own loop.
@inline(__always)
private func scaleMinMatrixProduct(
    hasFifthBits: Bool, weights: UnsafeRawPointer, rowByteCount: Int, blocksPerRow: Int, rows: Range<Int>,
    activations: UnsafePointer<Int8>, activationScales: UnsafePointer<Float>, activationSums: UnsafePointer<Int16>,
    tokens: Int, output: UnsafeMutablePointer<Float>, outputStride: Int
) {
    superBlockRows(rowByteCount: rowByteCount, blocksPerRow: blocksPerRow, rows: rows, weights: weights,
                   activations: activations, activationScales: activationScales, activationSums: activationSums,
                   tokens: tokens, output: output, outputStride: outputStride) { row, x, scales, sums, blocks in
        rowProduct(hasFifthBits, row, x, scales, sums, blocks)
    }
}

/// One weight row · one activation row.
///
/// Overflow bounds (int16 lanes, then int32): a value q ≤ 31 (15 for Q4_K)
/// times |x| ≤ 127, maddubs pairs ≤ 2·31·127 = 7874 < 2^15 (no saturation);
/// madd with a 6-bit scale ≤ 63 gives ≤ 2·63·7874 ≈ 992k per lane, and each
/// int32 lane gathers 8 of those (≈ 7.9M < 2^24, so even its conversion to
/// float is exact). The mins: each min ≤ 63 times the two int16 sums of 16 it
/// covers (each ≤ 16·127 = 2032), ≤ 2·63·2032 ≈ 256k per lane.
@inline(__always)
private func rowProduct(_ hasFifthBits: Bool, _ row: UnsafeRawPointer, _ x: UnsafePointer<Int8>,
                        _ xScales: UnsafePointer<Float>, _ xSums: UnsafePointer<Int16>, _ blocks: Int) -> Float {
    let format: WeightFormat = hasFifthBits ? .q5_K : .q4_K
    let nibblesOffset = hasFifthBits ? Q5_KLayout.nibbles : Q4_KLayout.nibbles
    let lowNibbles = _mm256_set1_epi8(0x0F), fifthBit = _mm256_set1_epi8(0x10)
    var scaled = _mm256_setzero_ps(), minimums = _mm256_setzero_ps()
    var block = 0
    while block < blocks {
        let base = row + block &* format.bytesPerBlock
        let a = x + block &* WeightFormat.valuesPerSuperBlock

        let minsAndScales = unpackMinsAndScales(base + Q4_KLayout.scales)
        // The eight scales as int16 in both 128-bit lanes, for the per-lane shuffles below.
        let scales = _mm256_cvtepu8_epi16(_mm_unpackhi_epi64(minsAndScales, minsAndScales))
        // Σ_j min_j · (Σ x over sub-block j): each min twice, against the two sums of 16 it covers.
        let doubledMins = _mm256_cvtepu8_epi16(_mm_unpacklo_epi8(minsAndScales, minsAndScales))
        let minProducts = _mm256_madd_epi16(doubledMins, loadVector(xSums + block &* SuperBlockActivationLayout.sumsPerBlock))

        // Each 64 values: 32 bytes, sub-block 2p in the low nibbles, 2p + 1 in the high ones.
        var products = _mm256_setzero_si256()
        var fifthBits = hasFifthBits ? loadVector(base + Q5_KLayout.fifthBits) : _mm256_setzero_si256()
        var pair = 0
        while pair < 4 {
            let packed = loadVector(base + (nibblesOffset &+ pair &* 32))
            var low = _mm256_and_si256(packed, lowNibbles)
            var high = _mm256_and_si256(_mm256_srli_epi16(packed, 4), lowNibbles)
            if hasFifthBits {
                // Value l of sub-block s has its fifth bit in bit s of byte l; after
                // shifting right by 2p, bits 0 and 1 of each byte are sub-blocks 2p and
                // 2p + 1 (16-bit shifts: only bits that stay inside their byte are kept).
                low = _mm256_or_si256(low, _mm256_and_si256(_mm256_slli_epi16(fifthBits, 4), fifthBit))
                high = _mm256_or_si256(high, _mm256_and_si256(_mm256_slli_epi16(fifthBits, 3), fifthBit))
                fifthBits = _mm256_srli_epi16(fifthBits, 2)
            }
            let lowProducts = _mm256_maddubs_epi16(low, loadVector(a + pair &* 64))
            let highProducts = _mm256_maddubs_epi16(high, loadVector(a + (pair &* 64 &+ 32)))
            let scaledLow = _mm256_madd_epi16(_mm256_shuffle_epi8(scales, scaleBroadcast(2 &* pair)), lowProducts)
            let scaledHigh = _mm256_madd_epi16(_mm256_shuffle_epi8(scales, scaleBroadcast(2 &* pair &+ 1)), highProducts)
            products = _mm256_add_epi32(products, _mm256_add_epi32(scaledLow, scaledHigh))
            pair &+= 1
        }

        let d = Float(base.loadUnaligned(fromByteOffset: Q4_KLayout.d, as: Float16.self))
        let dmin = Float(base.loadUnaligned(fromByteOffset: Q4_KLayout.dmin, as: Float16.self))
        scaled = _mm256_fmadd_ps(_mm256_set1_ps(d * xScales[block]), _mm256_cvtepi32_ps(products), scaled)
        minimums = _mm256_fmadd_ps(_mm256_set1_ps(dmin * xScales[block]), _mm256_cvtepi32_ps(minProducts), minimums)
        block &+= 1
    }
    return horizontalSum(_mm256_sub_ps(scaled, minimums))
}

/// The 12 packed scale bytes (the bit layout of kScaleMin in BlockDecoding)
/// as 16 bytes: the eight 6-bit mins, then the eight 6-bit scales. As 32-bit
/// words s0, s1, s2: sub-blocks 0–3 are the low 6 bits of s0's bytes (scales)
/// and s1's (mins); sub-blocks 4–7 the nibbles of s2 (scales low, mins high)
/// with their top two bits in bits 6–7 of s0's and s1's bytes. Done in one
/// vector register (two byte shuffles place the words) rather than four
/// scalar results inserted one at a time.
@inline(__always)
private func unpackMinsAndScales(_ packed: UnsafeRawPointer) -> __m128i {
    // 16 bytes: the 12 scale bytes and 4 of the block's next field, unused.
    let words = _mm_loadu_si128(packed.assumingMemoryBound(to: __m128i.self))
    // Lanes (mins 0–3, mins 4–7, scales 0–3, scales 4–7): their low six bits or nibbles from s1, s2, s0, s2 …
    let lowSource = _mm_shuffle_epi8(words, _mm_setr_epi8(4, 5, 6, 7, 8, 9, 10, 11, 0, 1, 2, 3, 8, 9, 10, 11))
    let lowBits = _mm_and_si128(_mm_srlv_epi32(lowSource, _mm_setr_epi32(0, 4, 0, 0)),
                                _mm_setr_epi32(0x3F3F_3F3F, 0x0F0F_0F0F, 0x3F3F_3F3F, 0x0F0F_0F0F))
    // … and for sub-blocks 4–7 the top two bits from s1 and s0 (bits 6–7 to 4–5).
    let highSource = _mm_shuffle_epi8(words, _mm_setr_epi8(-1, -1, -1, -1, 4, 5, 6, 7, -1, -1, -1, -1, 0, 1, 2, 3))
    let highBits = _mm_and_si128(_mm_srli_epi32(highSource, 2), _mm_set1_epi8(0x30))
    return _mm_or_si128(lowBits, highBits)
}

/// A shuffle that copies int16 number `index` (0…7) of each 128-bit lane into all of that lane.
@inline(__always)
private func scaleBroadcast(_ index: Int) -> __m256i {
    _mm256_set1_epi16(Int16(truncatingIfNeeded: 0x0100 &+ 0x0202 &* index))  // bytes 2i, 2i + 1
}

#endif
