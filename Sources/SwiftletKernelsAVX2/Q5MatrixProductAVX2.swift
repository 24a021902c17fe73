// 5-bit weight blocks (Q5_0, Q5_1) times int8 activations, for x86-64 with
// AVX2 + FMA + F16C (compiled with -target-cpu haswell; called only after the
// CPU check). As the Q4 kernels, with the fifth bit of each value spread from
// the block's 32-bit mask to a byte in registers and or-ed onto its nibble:
// the unsigned q (≤ 31) then goes through maddubs as Q4_1's nibbles do, and
// Q5_0's −16 is folded in through the activation sums as Q4_0's −8.
#if arch(x86_64)
import _Builtin_intrinsics.intel
import CSwiftletSupport
import SwiftletWeightFormats

/// output[t · outputStride + r] = weight row r · activation row t for every r
/// in `rows` and t < `tokens`, for Q5_0 blocks (d, qh, nibbles; value = d·(q − 16)).
/// `activationSums[b]` = activation scale × Σ q over block b.
public func avx2Q5_0MatrixProduct(
    weights: UnsafeRawPointer, rowByteCount: Int, blocksPerRow: Int, rows: Range<Int>,
    activations: UnsafePointer<Int8>, activationScales: UnsafePointer<Float>, activationSums: UnsafePointer<Float>,
    tokens: Int, output: UnsafeMutablePointer<Float>, outputStride: Int
) {
    q5MatrixProduct(weights, rowByteCount, blocksPerRow, hasMinimum: false, rows, activations, activationScales,
                    activationSums, tokens, output, outputStride)
}

/// As avx2Q5_0MatrixProduct, for Q5_1 blocks (d, m, qh, nibbles; value = d·q + m).
public func avx2Q5_1MatrixProduct(
    weights: UnsafeRawPointer, rowByteCount: Int, blocksPerRow: Int, rows: Range<Int>,
    activations: UnsafePointer<Int8>, activationScales: UnsafePointer<Float>, activationSums: UnsafePointer<Float>,
    tokens: Int, output: UnsafeMutablePointer<Float>, outputStride: Int
) {
    q5MatrixProduct(weights, rowByteCount, blocksPerRow, hasMinimum: true, rows, activations, activationScales,
                    activationSums, tokens, output, outputStride)
}

/// Both formats; inlined into each entry point with `hasMinimum` a constant.
@inline(__always)
private func q5MatrixProduct(
    _ weights: UnsafeRawPointer, _ rowByteCount: Int, _ blocksPerRow: Int, hasMinimum: Bool, _ rows: Range<Int>,
    _ activations: UnsafePointer<Int8>, _ activationScales: UnsafePointer<Float>, _ activationSums: UnsafePointer<Float>,
    _ tokens: Int, _ output: UnsafeMutablePointer<Float>, _ outputStride: Int
) {
    let columns = blocksPerRow &* WeightFormat.valuesPerBlock
    for row in rows {
        let rowBase = weights + row &* rowByteCount
        slc_prefetch_weight_row(rowBase, rowByteCount)
        var token = 0
        while token < tokens {
            output[token &* outputStride &+ row] = rowDot(
                rowBase, activations + token &* columns, activationScales + token &* blocksPerRow,
                activationSums + token &* blocksPerRow, blocksPerRow, hasMinimum: hasMinimum)
            token &+= 1
        }
    }
}

/// One row · one token, in two accumulator chains (even and odd blocks) so a
/// block need not wait for the previous one's fused multiply-add. Eight
/// blocks' scales d·d_x and offset terms are made at once first (as in
/// avx2Q8MatrixProduct): one conversion and one multiply-add instead of eight
/// of each on the vector ports.
@inline(__always)
private func rowDot(_ row: UnsafeRawPointer, _ x: UnsafePointer<Int8>, _ scales: UnsafePointer<Float>,
                    _ sums: UnsafePointer<Float>, _ blocks: Int, hasMinimum: Bool) -> Float {
    let format: WeightFormat = hasMinimum ? .q5_1 : .q5_0
    let blockBytes = format.bytesPerBlock, valuesPerBlock = WeightFormat.valuesPerBlock
    var even = _mm256_setzero_ps(), odd = _mm256_setzero_ps()
    // Σ m·d_x·Σx_q (Q5_1) or Σ d·d_x·Σx_q (Q5_0, to be multiplied by −16 at the end).
    var offsets = _mm256_setzero_ps()
    var groupScales = SIMD8<Float>()
    var block = 0
    while block &+ 8 <= blocks {
        let base = row + block &* blockBytes
        let d = _mm256_cvtph_ps(eightHalves(base, blockBytes))
        let offsetFactors = hasMinimum
            ? _mm256_cvtph_ps(eightHalves(base + WeightFormat.minimumOffset, blockBytes)) : d
        offsets = _mm256_fmadd_ps(offsetFactors, _mm256_loadu_ps(sums + block), offsets)
        groupScales = _mm256_mul_ps(d, _mm256_loadu_ps(scales + block))
        withUnsafePointer(to: &groupScales) { pointer in
            let s = UnsafeRawPointer(pointer).assumingMemoryBound(to: Float.self)
            var i = 0
            while i < 8 {
                even = accumulate(base + i &* blockBytes, x + (block &+ i) &* valuesPerBlock, s[i],
                                  hasMinimum: hasMinimum, even)
                odd = accumulate(base + (i &+ 1) &* blockBytes, x + (block &+ i &+ 1) &* valuesPerBlock, s[i &+ 1],
                                 hasMinimum: hasMinimum, odd)
                i &+= 2
            }
        }
        block &+= 8
    }
    var offset = horizontalSum(offsets)
    while block < blocks {
        let base = row + block &* blockBytes
        let d = Float(base.loadUnaligned(as: Float16.self))
        offset += (hasMinimum ? Float(base.loadUnaligned(fromByteOffset: WeightFormat.minimumOffset, as: Float16.self)) : d)
            * sums[block]
        even = accumulate(base, x + block &* valuesPerBlock, d * scales[block], hasMinimum: hasMinimum, even)
        swap(&even, &odd)
        block &+= 1
    }
    // d·(q − 16) = d·q − 16d for Q5_0.
    return horizontalSum(_mm256_add_ps(even, odd)) + (hasMinimum ? offset : -16 * offset)
}

/// sum + scale·Σ q·x_q for the block at `block` and its activations `x`, as 8 lanes.
@inline(__always)
private func accumulate(_ block: UnsafeRawPointer, _ x: UnsafePointer<Int8>, _ scale: Float, hasMinimum: Bool,
                        _ sum: __m256) -> __m256 {
    let format: WeightFormat = hasMinimum ? .q5_1 : .q5_0
    let fifthBitsOffset = hasMinimum ? Q5_1Layout.fifthBits : Q5_0Layout.fifthBits
    let q = _mm256_or_si256(unpackNibbles(block + format.valuesOffset), fifthBits(block + fifthBitsOffset))
    return _mm256_fmadd_ps(_mm256_set1_ps(scale), blockDot(q, x), sum)
}

/// The block's 32 fifth bits (a little-endian uint32, bit j for value j) as
/// bytes 0x10 or 0: each byte j picks the mask byte holding bit j, sets every
/// other bit, and compares with all ones.
@inline(__always)
private func fifthBits(_ pointer: UnsafeRawPointer) -> __m256i {
    let mask = _mm256_set1_epi32(Int32(bitPattern: UInt32(littleEndian: pointer.loadUnaligned(as: UInt32.self))))
    // Bytes 0–7 take mask byte 0, 8–15 byte 1; the upper lane (values 16–31) bytes 2 and 3.
    let spread = _mm256_shuffle_epi8(mask, _mm256_set_epi64x(0x0303_0303_0303_0303, 0x0202_0202_0202_0202,
                                                             0x0101_0101_0101_0101, 0))
    // Byte k of each 8 has every bit but bit k set.
    let others = _mm256_or_si256(spread, _mm256_set1_epi64x(0x7FBF_DFEF_F7FB_FDFE))
    return _mm256_and_si256(_mm256_cmpeq_epi8(others, _mm256_set1_epi8(-1)), _mm256_set1_epi8(0x10))
}

#endif
