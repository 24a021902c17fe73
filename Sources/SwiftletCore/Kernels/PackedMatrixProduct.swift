#if arch(x86_64)
import SwiftletKernelsAVX512
#endif

/// Projections of a large batch on CPUs with AVX-512 VNNI: the weight rows
/// (used in place; Q8_0, Q4_1 or Q4_0, `takes`) times PackedActivations, in int8 with
/// the same per-block scales as the generation kernels — so a batch gives
/// the logits its tokens give one at a time, up to summation order. Each
/// worker takes 4 rows at a time into its own small buffer (unsigned bytes
/// plus per-block scales) and runs them against every token group.
///
/// Why: on Zen 4 this outran dequantize-and-sgemm (DequantizedMatrixProduct)
/// on prompts; see swiftlet-kernel-bench and the README's speed section.
enum PackedMatrixProduct {
    /// The smallest batch that takes this kernel: one full group of tokens
    /// already outruns the row kernels (SmolLM2 Q8_0, 2 threads, whole
    /// forward pass: 8 tokens 20.6 → 14.4 ms, 16 tokens 38.9 → 18.4 ms).
    static let minimumTokens = 8

    /// Whether matrices in `format` can take this path.
    static func takes(_ format: WeightFormat) -> Bool {
        #if arch(x86_64)
        return vnniPacks(format)
        #else
        return false
        #endif
    }

    /// Scratch bytes one worker needs for matrices of at most `columns` columns.
    static func tileScratchBytes(columns: Int) -> Int {
        4 * columns + 2 * 4 * (columns / WeightFormat.valuesPerBlock) * MemoryLayout<Float>.stride
    }

    /// output[t * outputStride + r] = row r of `matrix` · token t of `input`, for r in `rows`.
    static func multiply(_ matrix: QuantizedMatrix, rows: Range<Int>, by input: PackedActivations,
                         scratch: UnsafeMutableRawPointer, output: UnsafeMutablePointer<Float>, outputStride: Int) {
        #if arch(x86_64)
        let blocks = matrix.blocksPerRow
        let values = scratch.bindMemory(to: UInt8.self, capacity: 4 * matrix.columns)
        let scales = (scratch + 4 * matrix.columns).bindMemory(to: Float.self, capacity: 8 * blocks)
        let offsets = scales + 4 * blocks
        var row = rows.lowerBound
        while row < rows.upperBound {
            let count = min(4, rows.upperBound - row)
            vnniPrepareRows(weights: matrix.base, rowByteCount: matrix.rowByteCount, blocksPerRow: blocks,
                            format: matrix.format, firstRow: row, rowCount: count, values: values, scales: scales,
                            offsets: offsets)
            vnniPackedProduct(values: values, scales: scales, offsets: offsets, blocksPerRow: blocks,
                              packed: input.values, packedScales: input.scales, packedSums: input.sums,
                              groups: 0..<input.groupCount, tokens: input.tokens, firstRow: row, rowCount: count,
                              output: output, outputStride: outputStride)
            row += count
        }
        #else
        preconditionFailure("PackedMatrixProduct runs only where KernelTable.hasPackedProduct")
        #endif
    }
}
