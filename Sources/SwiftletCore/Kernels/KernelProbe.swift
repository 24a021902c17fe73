/// For test drivers (Tests/GGUFInspect): one matrix product through this
/// process's kernel table, with activations quantized as a forward pass
/// quantizes them for the row kernels, so each kernel set can be checked
/// against a reference computed from the file.
public enum KernelProbe {
    /// output[t · matrix.rows + r] = row r of `matrix` · input row t, for
    /// `tokens` rows of matrix.columns floats. Rows are computed in two
    /// ranges, split at `split`, as two workers would.
    public static func multiply(_ matrix: QuantizedMatrix, input: UnsafePointer<Float>, tokens: Int,
                                split: Int, output: UnsafeMutablePointer<Float>) {
        let columns = matrix.columns, blocks = tokens * columns / WeightFormat.valuesPerBlock
        let superBlocks = matrix.format.usesSuperBlocks ? tokens * columns / WeightFormat.valuesPerSuperBlock : 0
        let values = UnsafeMutablePointer<Int8>.allocate(capacity: tokens * columns)
        let scales = UnsafeMutablePointer<Float>.allocate(capacity: blocks)
        let sums = UnsafeMutablePointer<Float>.allocate(capacity: blocks)
        let superValues = UnsafeMutablePointer<Int8>.allocate(capacity: tokens * columns)
        let superScales = UnsafeMutablePointer<Float>.allocate(capacity: superBlocks)
        let superSums = UnsafeMutablePointer<Int16>.allocate(capacity: superBlocks * SuperBlockActivationLayout.sumsPerBlock)
        defer {
            for pointer in [UnsafeMutableRawPointer(values), UnsafeMutableRawPointer(scales), UnsafeMutableRawPointer(sums),
                            UnsafeMutableRawPointer(superValues), UnsafeMutableRawPointer(superScales),
                            UnsafeMutableRawPointer(superSums)] { pointer.deallocate() }
        }
        let q = QuantizedActivations(
            values: values, scales: scales, sums: sums, columns: columns,
            superBlocks: SuperBlockActivations(values: superValues, scales: superScales, sums: superSums, columns: columns))
        q.quantize(input, inputStride: columns, tokens: 0..<tokens, superBlocks: matrix.format.usesSuperBlocks)
        let middle = min(max(split, 0), matrix.rows)
        for rows in [0..<middle, middle..<matrix.rows] where !rows.isEmpty {
            KernelTable.current.multiply(matrix, rows: rows, by: q, tokens: tokens, into: output, outputStride: matrix.rows)
        }
    }
}
