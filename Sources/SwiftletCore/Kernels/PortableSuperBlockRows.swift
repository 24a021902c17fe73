// The row, token and super-block loops every portable super-block product
// (Q2_K…Q6_K, IQ4_XS) shares, and where a token's activations of one super-block start.

/// output[t·outputStride + r] = Σ_b blockProduct(r, t, b) for r in `rows`, t < `tokens`.
@inline(__always)
func forEachSuperBlockProduct(
    rowByteCount: Int, blocksPerRow: Int, rows: Range<Int>, tokens: Int, output: UnsafeMutablePointer<Float>,
    outputStride: Int, _ blockProduct: (_ row: Int, _ token: Int, _ block: Int) -> Float
) {
    for row in rows {
        for token in 0..<tokens {
            var sum: Float = 0
            for block in 0..<blocksPerRow { sum += blockProduct(row, token, block) }
            output[token * outputStride + row] = sum
        }
    }
}

/// Token `token`'s 256 values and 16 sums of super-block `block`.
@inline(__always)
func superBlockActivations(_ values: UnsafePointer<Int8>, _ sums: UnsafePointer<Int16>, _ blocksPerRow: Int,
                                   _ token: Int, _ block: Int) -> (values: UnsafePointer<Int8>, sums: UnsafePointer<Int16>) {
    let index = token * blocksPerRow + block
    return (values + index * WeightFormat.valuesPerSuperBlock, sums + index * SuperBlockActivationLayout.sumsPerBlock)
}
