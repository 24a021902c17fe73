// 4-bit weight blocks times int8 activations, for x86-64 with AVX2 + FMA +
// F16C (compiled with -target-cpu haswell; called only after the CPU check).
// The nibbles are unpacked to bytes in registers, so the dot products stay
// int8 (maddubs: unsigned nibble × signed activation) while only half the
// bytes of 8-bit blocks are read from memory.
#if arch(x86_64)
import _Builtin_intrinsics.intel
import CSwiftletSupport
import SwiftletWeightFormats

/// As avx2Q8MatrixProduct, for Q4_1 blocks (d, m, nibbles; value = d·q + m)
/// or, with `hasMinimum` false, Q4_0 blocks (d, nibbles; value = d·(q − 8)).
/// `activationSums[b]` = activation scale × Σ q over block b.
public func avx2Q4MatrixProduct(
    weights: UnsafeRawPointer, rowByteCount: Int, blocksPerRow: Int, hasMinimum: Bool, rows: Range<Int>,
    activations: UnsafePointer<Int8>, activationScales: UnsafePointer<Float>, activationSums: UnsafePointer<Float>,
    tokens: Int, output: UnsafeMutablePointer<Float>, outputStride: Int
) {
    if tokens >= 4 {
        return avx2Q4MatrixProductInFours(
            weights: weights, rowByteCount: rowByteCount, blocksPerRow: blocksPerRow, hasMinimum: hasMinimum,
            rows: rows, activations: activations, activationScales: activationScales,
            activationSums: activationSums, tokens: tokens, output: output, outputStride: outputStride)
    }
    let columns = blocksPerRow &* WeightFormat.valuesPerBlock
    for row in rows {
        let rowBase = weights + row &* rowByteCount
        slc_prefetch_weight_row(rowBase, rowByteCount)
        var token = 0
        while token < tokens {
            let x = activations + token &* columns
            let scales = activationScales + token &* blocksPerRow
            let sums = activationSums + token &* blocksPerRow
            output[token &* outputStride &+ row] = hasMinimum
                ? dotQ4_1(rowBase, x, scales, sums, blocksPerRow)
                : dotQ4_0(rowBase, x, scales, sums, blocksPerRow)
            token &+= 1
        }
    }
}

/// avx2Q4MatrixProduct for batches of four tokens or more (batched
/// decoding, short prompts): four at a time share each block's unpacking.
/// A function of its own: folded into the one-token loop, it slowed
/// generation from 8.0 to 13.8 ms per token (measured on Zen 3).
@inline(never)
private func avx2Q4MatrixProductInFours(
    weights: UnsafeRawPointer, rowByteCount: Int, blocksPerRow: Int, hasMinimum: Bool, rows: Range<Int>,
    activations: UnsafePointer<Int8>, activationScales: UnsafePointer<Float>, activationSums: UnsafePointer<Float>,
    tokens: Int, output: UnsafeMutablePointer<Float>, outputStride: Int
) {
    let columns = blocksPerRow &* WeightFormat.valuesPerBlock
    forEachRowInFours(weights, rowByteCount, rows, tokens) { rowBase, row, first in
        let four = dotQ4Four(rowBase, activations + first &* columns, columns, activationScales + first &* blocksPerRow,
                             activationSums + first &* blocksPerRow, blocksPerRow, hasMinimum: hasMinimum)
        for t in 0..<4 { output[(first &+ t) &* outputStride &+ row] = four[t] }
    }
}

/// Four tokens' dot products with one row (Q4_1 with `hasMinimum`, else
/// Q4_0): each block's nibbles are unpacked and its scales read once for the
/// four. Each token's sum is made by exactly the operations, in the order,
/// of dotQ4_1 / dotQ4_0, so a token's result is the same whichever tokens
/// share its batch (batched decoding gives each sequence what it gets alone).
@inline(__always)
private func dotQ4Four(_ row: UnsafeRawPointer, _ x: UnsafePointer<Int8>, _ columns: Int,
                       _ scales: UnsafePointer<Float>, _ sums: UnsafePointer<Float>, _ blocks: Int,
                       hasMinimum: Bool) -> SIMD4<Float> {
    let layout = hasMinimum ? WeightFormat.q4_1 : WeightFormat.q4_0, minimum = WeightFormat.minimumOffset
    let x1 = x + columns, x2 = x1 + columns, x3 = x2 + columns
    let s1 = scales + blocks, s2 = s1 + blocks, s3 = s2 + blocks
    let m1 = sums + blocks, m2 = m1 + blocks, m3 = m2 + blocks
    var e0 = _mm256_setzero_ps(), e1 = e0, e2 = e0, e3 = e0, o0 = e0, o1 = e0, o2 = e0, o3 = e0
    var offsetsEven = SIMD4<Float>(), offsetsOdd = SIMD4<Float>()
    /// The offset term of one block for the four tokens: m·(Σ a) for Q4_1, 8d·(Σ a) for Q4_0.
    @inline(__always) func offsets(_ block: UnsafeRawPointer, _ d: Float, _ i: Int) -> SIMD4<Float> {
        let factor = hasMinimum ? Float(block.loadUnaligned(fromByteOffset: minimum, as: Float16.self)) : 8 * d
        return SIMD4(factor * sums[i], factor * m1[i], factor * m2[i], factor * m3[i])
    }
    var block = 0
    while block &+ 1 < blocks {
        let a = row + block &* layout.bytesPerBlock, b = a + layout.bytesPerBlock
        let qa = unpackNibbles(a + layout.valuesOffset), qb = unpackNibbles(b + layout.valuesOffset)
        let da = Float(a.loadUnaligned(as: Float16.self)), db = Float(b.loadUnaligned(as: Float16.self))
        let ia = block &* 32, ib = ia &+ 32, next = block &+ 1
        e0 = _mm256_fmadd_ps(_mm256_set1_ps(da * scales[block]), blockDot(qa, x + ia), e0)
        o0 = _mm256_fmadd_ps(_mm256_set1_ps(db * scales[next]), blockDot(qb, x + ib), o0)
        e1 = _mm256_fmadd_ps(_mm256_set1_ps(da * s1[block]), blockDot(qa, x1 + ia), e1)
        o1 = _mm256_fmadd_ps(_mm256_set1_ps(db * s1[next]), blockDot(qb, x1 + ib), o1)
        e2 = _mm256_fmadd_ps(_mm256_set1_ps(da * s2[block]), blockDot(qa, x2 + ia), e2)
        o2 = _mm256_fmadd_ps(_mm256_set1_ps(db * s2[next]), blockDot(qb, x2 + ib), o2)
        e3 = _mm256_fmadd_ps(_mm256_set1_ps(da * s3[block]), blockDot(qa, x3 + ia), e3)
        o3 = _mm256_fmadd_ps(_mm256_set1_ps(db * s3[next]), blockDot(qb, x3 + ib), o3)
        offsetsEven += offsets(a, da, block)
        offsetsOdd += offsets(b, db, next)
        block &+= 2
    }
    if block < blocks {
        let a = row + block &* layout.bytesPerBlock
        let qa = unpackNibbles(a + layout.valuesOffset), da = Float(a.loadUnaligned(as: Float16.self))
        let ia = block &* 32
        e0 = _mm256_fmadd_ps(_mm256_set1_ps(da * scales[block]), blockDot(qa, x + ia), e0)
        e1 = _mm256_fmadd_ps(_mm256_set1_ps(da * s1[block]), blockDot(qa, x1 + ia), e1)
        e2 = _mm256_fmadd_ps(_mm256_set1_ps(da * s2[block]), blockDot(qa, x2 + ia), e2)
        e3 = _mm256_fmadd_ps(_mm256_set1_ps(da * s3[block]), blockDot(qa, x3 + ia), e3)
        offsetsEven += offsets(a, da, block)
    }
    let dots = SIMD4(_mm256_add_ps(e0, o0).sum(), _mm256_add_ps(e1, o1).sum(), _mm256_add_ps(e2, o2).sum(),
                     _mm256_add_ps(e3, o3).sum())
    return hasMinimum ? dots + (offsetsEven + offsetsOdd) : dots - (offsetsEven + offsetsOdd)
}

// The two block loops below keep two independent accumulator chains (even and
// odd blocks): with one, every block waits for the previous fused multiply-add
// (4 cycles), which caps a core well below memory bandwidth on 20-byte blocks.

@inline(__always)
private func dotQ4_1(_ row: UnsafeRawPointer, _ x: UnsafePointer<Int8>, _ scales: UnsafePointer<Float>,
                     _ sums: UnsafePointer<Float>, _ blocks: Int) -> Float {
    let layout = WeightFormat.q4_1, minimum = WeightFormat.minimumOffset
    var even = _mm256_setzero_ps(), odd = _mm256_setzero_ps()
    var offsetsEven: Float = 0, offsetsOdd: Float = 0
    var block = 0
    while block &+ 1 < blocks {
        let a = row + block &* layout.bytesPerBlock, b = a + layout.bytesPerBlock
        even = _mm256_fmadd_ps(_mm256_set1_ps(Float(a.loadUnaligned(as: Float16.self)) * scales[block]),
                               blockDot(unpackNibbles(a + layout.valuesOffset), x + block &* 32), even)
        odd = _mm256_fmadd_ps(_mm256_set1_ps(Float(b.loadUnaligned(as: Float16.self)) * scales[block &+ 1]),
                              blockDot(unpackNibbles(b + layout.valuesOffset), x + (block &+ 1) &* 32), odd)
        offsetsEven += Float(a.loadUnaligned(fromByteOffset: minimum, as: Float16.self)) * sums[block]
        offsetsOdd += Float(b.loadUnaligned(fromByteOffset: minimum, as: Float16.self)) * sums[block &+ 1]
        block &+= 2
    }
    if block < blocks {
        let a = row + block &* layout.bytesPerBlock
        even = _mm256_fmadd_ps(_mm256_set1_ps(Float(a.loadUnaligned(as: Float16.self)) * scales[block]),
                               blockDot(unpackNibbles(a + layout.valuesOffset), x + block &* 32), even)
        offsetsEven += Float(a.loadUnaligned(fromByteOffset: minimum, as: Float16.self)) * sums[block]
    }
    return _mm256_add_ps(even, odd).sum() + (offsetsEven + offsetsOdd)
}

@inline(__always)
private func dotQ4_0(_ row: UnsafeRawPointer, _ x: UnsafePointer<Int8>, _ scales: UnsafePointer<Float>,
                     _ sums: UnsafePointer<Float>, _ blocks: Int) -> Float {
    let blockBytes = WeightFormat.q4_0.bytesPerBlock, nibbles = WeightFormat.q4_0.valuesOffset
    var even = _mm256_setzero_ps(), odd = _mm256_setzero_ps()
    var offsetsEven: Float = 0, offsetsOdd: Float = 0
    var block = 0
    while block &+ 1 < blocks {
        let a = row + block &* blockBytes, b = a + blockBytes
        let da = Float(a.loadUnaligned(as: Float16.self)), db = Float(b.loadUnaligned(as: Float16.self))
        even = _mm256_fmadd_ps(_mm256_set1_ps(da * scales[block]), blockDot(unpackNibbles(a + nibbles), x + block &* 32), even)
        odd = _mm256_fmadd_ps(_mm256_set1_ps(db * scales[block &+ 1]),
                              blockDot(unpackNibbles(b + nibbles), x + (block &+ 1) &* 32), odd)
        offsetsEven += 8 * da * sums[block]  // d·(q − 8) = d·q − 8d
        offsetsOdd += 8 * db * sums[block &+ 1]
        block &+= 2
    }
    if block < blocks {
        let a = row + block &* blockBytes
        let da = Float(a.loadUnaligned(as: Float16.self))
        even = _mm256_fmadd_ps(_mm256_set1_ps(da * scales[block]), blockDot(unpackNibbles(a + nibbles), x + block &* 32), even)
        offsetsEven += 8 * da * sums[block]
    }
    return _mm256_add_ps(even, odd).sum() - (offsetsEven + offsetsOdd)
}
#endif
