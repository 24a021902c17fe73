// Kernels for x86-64 with AVX2 + FMA + F16C. This module is compiled with
// `-target-cpu haswell`; nothing in it may run before the engine has checked
// the CPU (KernelTable in SwiftletCore). Keep every function here free of callers other
// than the dispatch table.
#if arch(x86_64)
import _Builtin_intrinsics.intel
import CSwiftletSupport
import SwiftletWeightFormats

/// Q8_0's block layout, constants once inlined.
@inline(__always) private var blockBytes: Int { WeightFormat.q8_0.bytesPerBlock }
@inline(__always) private var valuesOffset: Int { WeightFormat.q8_0.valuesOffset }

/// output[t * outputStride + r] = Σ_blocks d_w · d_x · Σ q_w · q_x for every
/// row r in `rows` and token t < `tokens`. Weights are Q8 blocks (fp16 scale +
/// 32 int8), activations int8 with one fp32 scale per 32 values.
///
/// Each row is reused for every token while it is hot in L1. Rows go one
/// at a time, front to back: walking four rows in step (to share activation
/// loads) defeated the hardware prefetcher and streamed at a third of the speed.
public func avx2Q8MatrixProduct(
    weights: UnsafeRawPointer, rowByteCount: Int, blocksPerRow: Int, rows: Range<Int>,
    activations: UnsafePointer<Int8>, activationScales: UnsafePointer<Float>, tokens: Int,
    output: UnsafeMutablePointer<Float>, outputStride: Int
) {
    if tokens >= 4 {
        return avx2Q8MatrixProductInFours(
            weights: weights, rowByteCount: rowByteCount, blocksPerRow: blocksPerRow, rows: rows,
            activations: activations, activationScales: activationScales, tokens: tokens, output: output,
            outputStride: outputStride)
    }
    let columns = blocksPerRow &* WeightFormat.valuesPerBlock
    for row in rows {
        let rowBase = weights + row &* rowByteCount
        slc_prefetch_weight_row(rowBase, rowByteCount)
        var token = 0
        while token < tokens {
            let sum = blockProduct(rowBase, activations + token &* columns, activationScales + token &* blocksPerRow,
                                   blocksPerRow)
            output[token &* outputStride &+ row] = horizontalSum(sum)
            token &+= 1
        }
    }
}

/// One row · one token as 8 lanes still to be added, in two accumulator
/// chains (even and odd blocks) so blocks need not wait on each other's
/// fused multiply-add. Eight blocks' scales d_w·d_x are made at once first:
/// the fp16 scales gathered with scalar loads and shifts (the integer
/// ports are idle here), converted and multiplied as one vector; per block
/// that leaves one broadcast load instead of an insert, a conversion, a
/// multiply and a broadcast on the busy vector ports.
@inline(__always)
private func blockProduct(_ row: UnsafeRawPointer, _ x: UnsafePointer<Int8>, _ xScales: UnsafePointer<Float>,
                          _ blocks: Int) -> __m256 {
    var even = _mm256_setzero_ps(), odd = _mm256_setzero_ps()
    var scales = SIMD8<Float>()
    var block = 0
    while block &+ 8 <= blocks {
        let base = row + block &* blockBytes
        let low = packedHalves(base), high = packedHalves(base + 4 &* blockBytes)
        let halves = _mm_set_epi64x(Int64(bitPattern: high), Int64(bitPattern: low))
        scales = _mm256_mul_ps(_mm256_cvtph_ps(halves), _mm256_loadu_ps(xScales + block))
        withUnsafePointer(to: &scales) { pointer in
            let s = UnsafeRawPointer(pointer).assumingMemoryBound(to: Float.self)
            var i = 0
            while i < 8 {
                even = scaledBlock(base + i &* blockBytes, activationBlock(x, block &+ i), s[i], even)
                odd = scaledBlock(base + (i &+ 1) &* blockBytes, activationBlock(x, block &+ i &+ 1), s[i &+ 1], odd)
                i &+= 2
            }
        }
        block &+= 8
    }
    while block < blocks {
        even = accumulate(row + block &* blockBytes, activationBlock(x, block), xScales[block], even)
        block &+= 1
    }
    return _mm256_add_ps(even, odd)
}

/// avx2Q8MatrixProduct for batches of four tokens or more: four at a time
/// share each block's load, sign and scales (a function of its own, as
/// avx2Q4MatrixProductInFours, so the one-token loop keeps its code).
@inline(never)
private func avx2Q8MatrixProductInFours(
    weights: UnsafeRawPointer, rowByteCount: Int, blocksPerRow: Int, rows: Range<Int>,
    activations: UnsafePointer<Int8>, activationScales: UnsafePointer<Float>, tokens: Int,
    output: UnsafeMutablePointer<Float>, outputStride: Int
) {
    let columns = blocksPerRow &* WeightFormat.valuesPerBlock
    forEachRowInFours(weights, rowByteCount, rows, tokens) { rowBase, row, first in
        let sums = blockProductFour(rowBase, activations + first &* columns, columns,
                                    activationScales + first &* blocksPerRow, blocksPerRow)
        output[first &* outputStride &+ row] = horizontalSum(sums.0)
        output[(first &+ 1) &* outputStride &+ row] = horizontalSum(sums.1)
        output[(first &+ 2) &* outputStride &+ row] = horizontalSum(sums.2)
        output[(first &+ 3) &* outputStride &+ row] = horizontalSum(sums.3)
    }
}

/// blockProduct for four tokens (activations `columns` apart, scales
/// `blocks` apart), each token's lanes made by exactly blockProduct's
/// operations in its order: a token's result does not depend on its neighbours.
@inline(__always)
private func blockProductFour(_ row: UnsafeRawPointer, _ x: UnsafePointer<Int8>, _ columns: Int,
                              _ xScales: UnsafePointer<Float>, _ blocks: Int) -> (__m256, __m256, __m256, __m256) {
    let x1 = x + columns, x2 = x1 + columns, x3 = x2 + columns
    let t1 = xScales + blocks, t2 = t1 + blocks, t3 = t2 + blocks
    var e0 = _mm256_setzero_ps(), e1 = e0, e2 = e0, e3 = e0, o0 = e0, o1 = e0, o2 = e0, o3 = e0
    var block = 0
    while block &+ 8 <= blocks {
        let base = row + block &* blockBytes
        let low = packedHalves(base), high = packedHalves(base + 4 &* blockBytes)
        let weightScales = _mm256_cvtph_ps(_mm_set_epi64x(Int64(bitPattern: high), Int64(bitPattern: low)))
        let scales = (SIMD8<Float>(_mm256_mul_ps(weightScales, _mm256_loadu_ps(xScales + block))),
                      SIMD8<Float>(_mm256_mul_ps(weightScales, _mm256_loadu_ps(t1 + block))),
                      SIMD8<Float>(_mm256_mul_ps(weightScales, _mm256_loadu_ps(t2 + block))),
                      SIMD8<Float>(_mm256_mul_ps(weightScales, _mm256_loadu_ps(t3 + block))))
        var i = 0
        while i < 8 {
            let we = base + i &* blockBytes, wo = we + blockBytes
            let ae = block &+ i, ao = ae &+ 1
            e0 = scaledBlock(we, activationBlock(x, ae), scales.0[i], e0)
            o0 = scaledBlock(wo, activationBlock(x, ao), scales.0[i &+ 1], o0)
            e1 = scaledBlock(we, activationBlock(x1, ae), scales.1[i], e1)
            o1 = scaledBlock(wo, activationBlock(x1, ao), scales.1[i &+ 1], o1)
            e2 = scaledBlock(we, activationBlock(x2, ae), scales.2[i], e2)
            o2 = scaledBlock(wo, activationBlock(x2, ao), scales.2[i &+ 1], o2)
            e3 = scaledBlock(we, activationBlock(x3, ae), scales.3[i], e3)
            o3 = scaledBlock(wo, activationBlock(x3, ao), scales.3[i &+ 1], o3)
            i &+= 2
        }
        block &+= 8
    }
    while block < blocks {
        let w = row + block &* blockBytes
        e0 = accumulate(w, activationBlock(x, block), xScales[block], e0)
        e1 = accumulate(w, activationBlock(x1, block), t1[block], e1)
        e2 = accumulate(w, activationBlock(x2, block), t2[block], e2)
        e3 = accumulate(w, activationBlock(x3, block), t3[block], e3)
        block &+= 1
    }
    return (_mm256_add_ps(e0, o0), _mm256_add_ps(e1, o1), _mm256_add_ps(e2, o2), _mm256_add_ps(e3, o3))
}

/// The fp16 scales of four consecutive blocks (blockBytes apart) as one 64-bit word.
@inline(__always)
private func packedHalves(_ base: UnsafeRawPointer) -> UInt64 {
    UInt64(base.loadUnaligned(as: UInt16.self))
        | UInt64(base.loadUnaligned(fromByteOffset: blockBytes, as: UInt16.self)) &<< 16
        | UInt64(base.loadUnaligned(fromByteOffset: 2 &* blockBytes, as: UInt16.self)) &<< 32
        | UInt64(base.loadUnaligned(fromByteOffset: 3 &* blockBytes, as: UInt16.self)) &<< 48
}

/// sum + scale · (w · a) for one weight block (its values after the 2-byte scale) and its activations `a`.
@inline(__always)
private func scaledBlock(_ block: UnsafeRawPointer, _ a: __m256i, _ scale: Float, _ sum: __m256) -> __m256 {
    let w = _mm256_loadu_si256((block + valuesOffset).assumingMemoryBound(to: __m256i.self))
    let products = _mm256_maddubs_epi16(_mm256_sign_epi8(w, w), _mm256_sign_epi8(a, w))
    let sums = _mm256_cvtepi32_ps(_mm256_madd_epi16(products, _mm256_set1_epi16(1)))
    return _mm256_fmadd_ps(_mm256_set1_ps(scale), sums, sum)
}

@inline(__always)
private func activationBlock(_ x: UnsafePointer<Int8>, _ block: Int) -> __m256i {
    _mm256_loadu_si256(UnsafeRawPointer(x + block &* 32).assumingMemoryBound(to: __m256i.self))
}

/// sum + d_w · d_x · (w · a) for one weight block and its activations `a`, as 8 lanes.
@inline(__always)
private func accumulate(_ block: UnsafeRawPointer, _ a: __m256i, _ xScale: Float, _ sum: __m256) -> __m256 {
    let weightScale = Float(block.loadUnaligned(as: Float16.self))
    let w = _mm256_loadu_si256((block + valuesOffset).assumingMemoryBound(to: __m256i.self))
    // maddubs multiplies unsigned by signed bytes: move w's sign onto a.
    // |w| ≤ 128 and |a| ≤ 127, so each pair sum ≤ 32512 fits in int16.
    let products = _mm256_maddubs_epi16(_mm256_sign_epi8(w, w), _mm256_sign_epi8(a, w))
    let sums = _mm256_cvtepi32_ps(_mm256_madd_epi16(products, _mm256_set1_epi16(1)))
    return _mm256_fmadd_ps(_mm256_set1_ps(weightScale * xScale), sums, sum)
}

/// The sum of 8 lanes as a tree (the generic `.sum()` adds them one after another).
@inline(__always)
func horizontalSum(_ v: __m256) -> Float {
    let four = v.lowHalf + v.highHalf
    let two = _mm_add_ps(four, _mm_movehl_ps(four, four))
    return _mm_add_ss(two, _mm_movehdup_ps(two))[0]
}
#endif
