/// The int8 product every projection of a small batch runs through: weight
/// rows in place (WeightFormat) times activations quantized per block, with
/// the kernel the table holds for the matrix's format.
extension KernelTable {
    /// output[t * outputStride + r] = row r of `matrix` · token t of `input`, for r in `rows`.
    @inline(__always)
    func multiply(_ matrix: QuantizedMatrix, rows: Range<Int>, by input: QuantizedActivations, tokens: Int,
                  into output: UnsafeMutablePointer<Float>, outputStride: Int) {
        rowProduct(for: matrix.format)(matrix.base, matrix.rowByteCount, matrix.blocksPerRow, rows, input, tokens,
                                       output, outputStride)
    }
}
