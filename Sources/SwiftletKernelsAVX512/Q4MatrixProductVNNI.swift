// The Q4_1 / Q4_0 × int8 product of small batches (generation) with AVX-512
// VNNI (compiled with -target-cpu cascadelake; called only after the CPU
// check). Same contract and arithmetic as avx2Q4MatrixProduct, with far fewer
// vector instructions per block, which matters because the 4-bit kernel is
// bound by instructions, not by memory: the unpacked nibbles are already the
// unsigned operand vpdpbusd wants (one instruction instead of vpmaddubsw +
// vpmaddwd), and the per-block scalar work (two fp16 conversions, a scale
// multiply, the offset term) is done eight blocks at a time as vectors.
#if arch(x86_64)
import _Builtin_intrinsics.intel
import CSwiftletSupport
import SwiftletWeightFormats

/// output[t * outputStride + r] = row r · token t for r in `rows`, t < `tokens`.
/// Q4_1 blocks (d, m, nibbles; value = d·q + m) or, with `hasMinimum` false,
/// Q4_0 blocks (d, nibbles; value = d·(q − 8)); `activationSums[b]` = d_x·Σq.
public func vnniQ4MatrixProduct(
    weights: UnsafeRawPointer, rowByteCount: Int, blocksPerRow: Int, hasMinimum: Bool, rows: Range<Int>,
    activations: UnsafePointer<Int8>, activationScales: UnsafePointer<Float>, activationSums: UnsafePointer<Float>,
    tokens: Int, output: UnsafeMutablePointer<Float>, outputStride: Int
) {
    let columns = blocksPerRow &* WeightFormat.valuesPerBlock
    for row in rows {
        let rowBase = weights + row &* rowByteCount
        slc_prefetch_weight_row(rowBase, rowByteCount)
        var token = 0
        while token < tokens {
            let x = activations + token &* columns
            let scales = activationScales + token &* blocksPerRow, sums = activationSums + token &* blocksPerRow
            output[token &* outputStride &+ row] = hasMinimum
                ? rowProduct(rowBase, x, scales, sums, blocksPerRow, .q4_1)
                : rowProduct(rowBase, x, scales, sums, blocksPerRow, .q4_0)
            token &+= 1
        }
    }
}

/// One row · one token of Q4_1 or Q4_0 blocks (`format` a constant after inlining).
@inline(__always)
private func rowProduct(_ row: UnsafeRawPointer, _ x: UnsafePointer<Int8>, _ xScales: UnsafePointer<Float>,
                        _ xSums: UnsafePointer<Float>, _ blocks: Int, _ format: WeightFormat) -> Float {
    let hasMinimum = format == .q4_1
    let blockBytes = format.bytesPerBlock, nibbles = format.valuesOffset
    var even = _mm256_setzero_ps(), odd = _mm256_setzero_ps(), offsets = _mm256_setzero_ps()
    var scales = SIMD8<Float>()
    var block = 0
    while block &+ 8 <= blocks {
        let base = row + block &* blockBytes
        let d = gatherHalves(base, stride: blockBytes)
        scales = _mm256_mul_ps(d, _mm256_loadu_ps(xScales + block))
        // Σ over the blocks of the offset term: m·(d_x·Σq) for Q4_1, −8d·(d_x·Σq) for Q4_0.
        let offset = hasMinimum ? gatherHalves(base + WeightFormat.minimumOffset, stride: blockBytes) : _mm256_mul_ps(d, _mm256_set1_ps(-8))
        offsets = _mm256_fmadd_ps(offset, _mm256_loadu_ps(xSums + block), offsets)
        withUnsafePointer(to: &scales) { pointer in
            let s = UnsafeRawPointer(pointer).assumingMemoryBound(to: Float.self)
            var i = 0
            while i < 8 {
                even = accumulate(base + (i &* blockBytes &+ nibbles), x + (block &+ i) &* 32, s[i], even)
                odd = accumulate(base + ((i &+ 1) &* blockBytes &+ nibbles), x + (block &+ i &+ 1) &* 32, s[i &+ 1], odd)
                i &+= 2
            }
        }
        block &+= 8
    }
    var total = horizontalSum(_mm256_add_ps(even, odd)) + horizontalSum(offsets)
    while block < blocks {  // rows whose length is not a multiple of 256
        let base = row + block &* blockBytes
        let d = Float(base.loadUnaligned(as: Float16.self))
        let offset = hasMinimum ? Float(base.loadUnaligned(fromByteOffset: WeightFormat.minimumOffset, as: Float16.self)) : -8 * d
        total += horizontalSum(accumulate(base + nibbles, x + block &* 32, d * xScales[block], _mm256_setzero_ps()))
            + offset * xSums[block]
        block &+= 1
    }
    return total
}

/// sum + scale · Σ q·x over one block's 16 bytes of nibbles, as 8 lanes.
@inline(__always)
private func accumulate(_ nibbles: UnsafeRawPointer, _ x: UnsafePointer<Int8>, _ scale: Float,
                        _ sum: __m256) -> __m256 {
    let bytes = _mm_loadu_si128(nibbles.assumingMemoryBound(to: __m128i.self))
    let mask = _mm_set1_epi8(0x0F)
    // Value order: the 16 low nibbles, then the 16 high ones.
    let q = _mm256_set_m128i(_mm_and_si128(_mm_srli_epi16(bytes, 4), mask), _mm_and_si128(bytes, mask))
    let a = _mm256_loadu_si256(UnsafeRawPointer(x).assumingMemoryBound(to: __m256i.self))
    // All 8 lanes enabled: the masked form is the one that imports (the plain one is a C macro).
    let dots = _mm256_maskz_dpbusd_epi32(0xFF, _mm256_setzero_si256(), q, a)
    return _mm256_fmadd_ps(_mm256_set1_ps(scale), _mm256_cvtepi32_ps(dots), sum)
}

#endif
