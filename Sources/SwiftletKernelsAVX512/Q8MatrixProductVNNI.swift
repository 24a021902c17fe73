// The Q8_0 × int8 product of small batches (generation) with AVX-512 VNNI
// (compiled with -target-cpu cascadelake; called only after the CPU check).
// Same contract and arithmetic as avx2Q8MatrixProduct, fewer vector
// instructions per block: vpdpbusd multiplies unsigned by signed bytes, so
// the weights are shifted to unsigned (w + 128, one xor) instead of moving
// their signs onto the activations (two vpsignb) and widening twice
// (vpmaddubsw, vpmaddwd). The shift adds 128·Σq per block, taken off once
// per 8 blocks with the activations' per-block sums:
//   Σ_b d_w·d_x·Σ w·q = Σ_b d_w·d_x·Σ (w+128)·q − 128·Σ_b d_w·(d_x·Σq).
#if arch(x86_64)
import _Builtin_intrinsics.intel
import CSwiftletSupport
import SwiftletWeightFormats

/// output[t * outputStride + r] = row r · token t for r in `rows`, t < `tokens`:
/// Q8_0 weight rows, int8 activations with per-block scales d_x and sums d_x·Σq.
public func vnniQ8MatrixProduct(
    weights: UnsafeRawPointer, rowByteCount: Int, blocksPerRow: Int, rows: Range<Int>,
    activations: UnsafePointer<Int8>, activationScales: UnsafePointer<Float>, activationSums: UnsafePointer<Float>,
    tokens: Int, output: UnsafeMutablePointer<Float>, outputStride: Int
) {
    let columns = blocksPerRow &* WeightFormat.valuesPerBlock
    for row in rows {
        let rowBase = weights + row &* rowByteCount
        slc_prefetch_weight_row(rowBase, rowByteCount)
        var token = 0
        while token < tokens {
            output[token &* outputStride &+ row] = rowProduct(
                rowBase, activations + token &* columns, activationScales + token &* blocksPerRow,
                activationSums + token &* blocksPerRow, blocksPerRow)
            token &+= 1
        }
    }
}

@inline(__always)
private func rowProduct(_ row: UnsafeRawPointer, _ x: UnsafePointer<Int8>, _ xScales: UnsafePointer<Float>,
                        _ xSums: UnsafePointer<Float>, _ blocks: Int) -> Float {
    let blockBytes = WeightFormat.q8_0.bytesPerBlock
    var even = _mm256_setzero_ps(), odd = _mm256_setzero_ps(), corrections = _mm256_setzero_ps()
    var scales = SIMD8<Float>()
    var block = 0
    while block &+ 8 <= blocks {
        let base = row + block &* blockBytes
        let d = gatherHalves(base, stride: blockBytes)  // the 8 blocks' fp16 scales
        scales = _mm256_mul_ps(d, _mm256_loadu_ps(xScales + block))
        corrections = _mm256_fmadd_ps(d, _mm256_loadu_ps(xSums + block), corrections)
        withUnsafePointer(to: &scales) { pointer in
            let s = UnsafeRawPointer(pointer).assumingMemoryBound(to: Float.self)
            var i = 0
            while i < 8 {
                even = accumulate(base + i &* blockBytes, x + (block &+ i) &* 32, s[i], even)
                odd = accumulate(base + (i &+ 1) &* blockBytes, x + (block &+ i &+ 1) &* 32, s[i &+ 1], odd)
                i &+= 2
            }
        }
        block &+= 8
    }
    var total = horizontalSum(_mm256_add_ps(even, odd)) - 128 * horizontalSum(corrections)
    while block < blocks {  // rows whose length is not a multiple of 256
        let base = row + block &* blockBytes
        let d = Float(base.loadUnaligned(as: Float16.self))
        total += horizontalSum(accumulate(base, x + block &* 32, d * xScales[block], _mm256_setzero_ps()))
            - 128 * d * xSums[block]
        block &+= 1
    }
    return total
}

/// sum + scale · Σ (w + 128)·q over one block (its values after the 2-byte scale), as 8 lanes.
@inline(__always)
private func accumulate(_ block: UnsafeRawPointer, _ x: UnsafePointer<Int8>, _ scale: Float,
                        _ sum: __m256) -> __m256 {
    let w = _mm256_xor_si256(_mm256_loadu_si256((block + WeightFormat.q8_0.valuesOffset).assumingMemoryBound(to: __m256i.self)),
                             _mm256_set1_epi8(-128))
    let q = _mm256_loadu_si256(UnsafeRawPointer(x).assumingMemoryBound(to: __m256i.self))
    // All 8 lanes enabled: the masked form is the one that imports (the plain one is a C macro).
    let dots = _mm256_maskz_dpbusd_epi32(0xFF, _mm256_setzero_si256(), w, q)
    return _mm256_fmadd_ps(_mm256_set1_ps(scale), _mm256_cvtepi32_ps(dots), sum)
}

#endif
