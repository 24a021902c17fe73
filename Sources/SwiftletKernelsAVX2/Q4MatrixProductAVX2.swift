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
