import CSwiftletSupport

/// Projections of a large batch as fp32 GEMM on CPUs without AVX-512 VNNI
/// (with it, PackedMatrixProduct is 2× faster): each worker dequantizes its
/// slice of the weight rows into its own scratch and multiplies it with
/// OpenBLAS's sgemm on its own thread. `minimumTokens` is where either batch
/// path takes over from the row kernels.
///
/// Why: on the 2-core AVX2 machines this was measured on, single-threaded
/// sgemm runs a 512×576 by 576×1536 product at ~93 GFLOPS, while the int8
/// kernel (which re-reads activations per row) reaches ~17 GOPS. sgemm's
/// efficiency falls with few tokens (37 GFLOPS at 16, 57 at 32), and the
/// dequantization costs the same whatever the batch, so below
/// `minimumTokens` the int8 path stays faster.
enum DequantizedMatrixProduct {
    static let minimumTokens = 32

    /// output[t * outputStride + r] = row r of `matrix` · input[t], for r in `rows`.
    /// `scratch` holds rows.count × matrix.columns floats.
    static func multiply(_ matrix: QuantizedMatrix, rows: Range<Int>, input: UnsafePointer<Float>, tokens: Int,
                         scratch: UnsafeMutablePointer<Float>, output: UnsafeMutablePointer<Float>, outputStride: Int) {
        for (i, row) in rows.enumerated() { matrix.dequantizeRow(row, into: scratch + i * matrix.columns) }
        slb_sgemm_a_bt(Int32(tokens), Int32(rows.count), Int32(matrix.columns), input, Int32(matrix.columns),
                       scratch, Int32(matrix.columns), output + rows.lowerBound, Int32(outputStride))
    }
}
