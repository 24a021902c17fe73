// The row and token loops every super-block kernel (Q2_K…Q6_K, IQ4_XS) shares.
#if arch(x86_64)
import CSwiftletSupport
import SwiftletWeightFormats

/// One row · one token over `blocks` super-blocks: row, values, scales, sums, blocks.
typealias SuperBlockDot = (UnsafeRawPointer, UnsafePointer<Int8>, UnsafePointer<Float>, UnsafePointer<Int16>, Int) -> Float

/// The row and token loops shared by the super-block kernels: each row is
/// reused for every token while it is hot in L1, rows front to back (as avx2Q8MatrixProduct).
@inline(__always)
func superBlockRows(
    rowByteCount: Int, blocksPerRow: Int, rows: Range<Int>, weights: UnsafeRawPointer,
    activations: UnsafePointer<Int8>, activationScales: UnsafePointer<Float>, activationSums: UnsafePointer<Int16>,
    tokens: Int, output: UnsafeMutablePointer<Float>, outputStride: Int, _ dot: SuperBlockDot
) {
    let columns = blocksPerRow &* WeightFormat.valuesPerSuperBlock
    let sumsPerRow = blocksPerRow &* SuperBlockActivationLayout.sumsPerBlock
    for row in rows {
        let rowBase = weights + row &* rowByteCount
        slc_prefetch_weight_row(rowBase, rowByteCount)
        var token = 0
        while token < tokens {
            output[token &* outputStride &+ row] = dot(rowBase, activations + token &* columns,
                                                       activationScales + token &* blocksPerRow,
                                                       activationSums + token &* sumsPerRow, blocksPerRow)
            token &+= 1
        }
    }
}
#endif
