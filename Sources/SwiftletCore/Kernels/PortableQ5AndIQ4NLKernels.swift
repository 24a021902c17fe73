import SwiftletWeightFormats

// The portable products of the 32-value formats with a fifth bit (Q5_0, Q5_1)
// or non-linear levels (IQ4_NL): plain loops for baseline x86-64, the same
// integer sums per block as their AVX2 twins, so the results agree up to the
// order of float additions. Parameters as avx2Q5_0MatrixProduct: row t of the
// activations holds `columns` int8 q at t·columns, and per 32-value block the
// scale d_x and d_x·Σq at t·blocksPerRow.

/// The Q5_0 product (value = d·(q − 16)); the −16 comes in through the activation sums.
func portableQ5_0MatrixProduct(
    weights: UnsafeRawPointer, rowByteCount: Int, blocksPerRow: Int, rows: Range<Int>,
    activations: UnsafePointer<Int8>, activationScales: UnsafePointer<Float>, activationSums: UnsafePointer<Float>,
    tokens: Int, output: UnsafeMutablePointer<Float>, outputStride: Int
) {
    portableQ5MatrixProduct(weights, rowByteCount, blocksPerRow, hasMinimum: false, rows, activations,
                            activationScales, activationSums, tokens, output, outputStride)
}

/// The Q5_1 product (value = d·q + m).
func portableQ5_1MatrixProduct(
    weights: UnsafeRawPointer, rowByteCount: Int, blocksPerRow: Int, rows: Range<Int>,
    activations: UnsafePointer<Int8>, activationScales: UnsafePointer<Float>, activationSums: UnsafePointer<Float>,
    tokens: Int, output: UnsafeMutablePointer<Float>, outputStride: Int
) {
    portableQ5MatrixProduct(weights, rowByteCount, blocksPerRow, hasMinimum: true, rows, activations,
                            activationScales, activationSums, tokens, output, outputStride)
}

@inline(__always)
private func portableQ5MatrixProduct(
    _ weights: UnsafeRawPointer, _ rowByteCount: Int, _ blocksPerRow: Int, hasMinimum: Bool, _ rows: Range<Int>,
    _ activations: UnsafePointer<Int8>, _ activationScales: UnsafePointer<Float>, _ activationSums: UnsafePointer<Float>,
    _ tokens: Int, _ output: UnsafeMutablePointer<Float>, _ outputStride: Int
) {
    let format: WeightFormat = hasMinimum ? .q5_1 : .q5_0
    let fifthBitsOffset = hasMinimum ? Q5_1Layout.fifthBits : Q5_0Layout.fifthBits
    let valuesPerBlock = WeightFormat.valuesPerBlock, columns = blocksPerRow * valuesPerBlock
    // Each row's q (≤ 31) are unpacked once for all tokens, so the dot products
    // are plain int8 loops the compiler vectorizes (as portableQ8MatrixProduct's).
    withUnsafeTemporaryAllocation(of: Int8.self, capacity: columns) { buffer in
        let q = buffer.baseAddress!
        for row in rows {
            let rowBase = weights + row * rowByteCount
            for block in 0..<blocksPerRow {
                let base = rowBase + block * format.bytesPerBlock, values = q + block * valuesPerBlock
                let fifthBits = UInt32(littleEndian: base.loadUnaligned(fromByteOffset: fifthBitsOffset, as: UInt32.self))
                for i in 0..<16 {
                    let byte = base.load(fromByteOffset: format.valuesOffset + i, as: UInt8.self)
                    values[i] = Int8(byte & 0x0F | (UInt8(truncatingIfNeeded: fifthBits >> UInt32(i)) & 1) << 4)
                    values[i + 16] = Int8(byte >> 4 | (UInt8(truncatingIfNeeded: fifthBits >> UInt32(i + 16)) & 1) << 4)
                }
            }
            for token in 0..<tokens {
                let x = activations + token * columns
                let xScales = activationScales + token * blocksPerRow, xSums = activationSums + token * blocksPerRow
                var sum: Float = 0
                for block in 0..<blocksPerRow {
                    let base = rowBase + block * format.bytesPerBlock
                    let w = q + block * valuesPerBlock, a = x + block * valuesPerBlock
                    var dot: Int32 = 0
                    // 32 products of q ≤ 31 and |a| ≤ 127 sum to at most 126,000: no overflow.
                    for i in 0..<valuesPerBlock { dot &+= Int32(w[i]) &* Int32(a[i]) }
                    let d = Float(base.loadUnaligned(as: Float16.self))
                    let offset = hasMinimum
                        ? Float(base.loadUnaligned(fromByteOffset: WeightFormat.minimumOffset, as: Float16.self))
                            * xSums[block]
                        : -16 * d * xSums[block]
                    sum += d * xScales[block] * Float(dot) + offset
                }
                output[token * outputStride + row] = sum
            }
        }
    }
}

/// The IQ4_NL product (value = d·iq4NonLinearLevels[q]); `activationSums` is not
/// read (no offset), only taken to match the other 32-value kernels.
func portableIQ4_NLMatrixProduct(
    weights: UnsafeRawPointer, rowByteCount: Int, blocksPerRow: Int, rows: Range<Int>,
    activations: UnsafePointer<Int8>, activationScales: UnsafePointer<Float>, activationSums: UnsafePointer<Float>,
    tokens: Int, output: UnsafeMutablePointer<Float>, outputStride: Int
) {
    let format = WeightFormat.iq4_nl
    let valuesPerBlock = WeightFormat.valuesPerBlock, columns = blocksPerRow * valuesPerBlock
    // Each row's levels are looked up once for all tokens (from a copy of the
    // table in memory: indexing the SIMD vector itself was slower), so the dot
    // products are plain int8 loops the compiler vectorizes (as portableQ8MatrixProduct's).
    withUnsafeTemporaryAllocation(of: Int8.self, capacity: 16 + columns) { buffer in
        let levels = buffer.baseAddress!, decoded = levels + 16
        for i in 0..<16 { levels[i] = iq4NonLinearLevels[i] }
        for row in rows {
            let rowBase = weights + row * rowByteCount
            for block in 0..<blocksPerRow {
                let base = rowBase + block * format.bytesPerBlock, values = decoded + block * valuesPerBlock
                for i in 0..<16 {
                    let byte = base.load(fromByteOffset: format.valuesOffset + i, as: UInt8.self)
                    values[i] = levels[Int(byte & 0x0F)]
                    values[i + 16] = levels[Int(byte >> 4)]
                }
            }
            for token in 0..<tokens {
                let x = activations + token * columns, xScales = activationScales + token * blocksPerRow
                var sum: Float = 0
                for block in 0..<blocksPerRow {
                    let w = decoded + block * valuesPerBlock, a = x + block * valuesPerBlock
                    var dot: Int32 = 0
                    // 32 products of |w| ≤ 127 and |a| ≤ 127 sum to at most 516,128: no overflow.
                    for i in 0..<valuesPerBlock { dot &+= Int32(w[i]) &* Int32(a[i]) }
                    let d = Float((rowBase + block * format.bytesPerBlock).loadUnaligned(as: Float16.self))
                    sum += d * xScales[block] * Float(dot)
                }
                output[token * outputStride + row] = sum
            }
        }
    }
}
