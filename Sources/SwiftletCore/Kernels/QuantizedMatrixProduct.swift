#if arch(x86_64)
import SwiftletKernelsAVX2
import SwiftletKernelsAVX512
#endif

/// The int8 matrix product every projection of a small batch runs through:
/// weight blocks (WeightFormat) times activations quantized per block. The
/// kernels are chosen once per process from what the CPU supports.
enum QuantizedMatrixProduct {
    /// output[t * outputStride + r] = row r of `matrix` · token t of `input`, for r in `rows`.
    @inline(__always)
    static func multiply(_ matrix: QuantizedMatrix, rows: Range<Int>, by input: QuantizedActivations, tokens: Int,
                         into output: UnsafeMutablePointer<Float>, outputStride: Int) {
        switch matrix.format {
        case .q8_0:
            q8Kernel(matrix.base, matrix.rowByteCount, matrix.blocksPerRow, rows,
                     input.values, input.scales, input.sums, tokens, output, outputStride)
        case .q4_1, .q4_0:
            q4Kernel(matrix.base, matrix.rowByteCount, matrix.blocksPerRow, matrix.format == .q4_1, rows,
                     input.values, input.scales, input.sums, tokens, output, outputStride)
        }
    }

    private static let q8Kernel: @Sendable (
        _ weights: UnsafeRawPointer, _ rowByteCount: Int, _ blocksPerRow: Int, _ rows: Range<Int>,
        _ activations: UnsafePointer<Int8>, _ activationScales: UnsafePointer<Float>,
        _ activationSums: UnsafePointer<Float>, _ tokens: Int, _ output: UnsafeMutablePointer<Float>,
        _ outputStride: Int
    ) -> Void = {
        #if arch(x86_64)
        if CPUFeatures.hasAVX512 {
            return { w, stride, blocks, rows, x, xs, sums, tokens, out, outStride in
                vnniQ8MatrixProduct(weights: w, rowByteCount: stride, blocksPerRow: blocks, rows: rows,
                                    activations: x, activationScales: xs, activationSums: sums, tokens: tokens,
                                    output: out, outputStride: outStride)
            }
        }
        if CPUFeatures.hasAVX2 {
            return { w, stride, blocks, rows, x, xs, _, tokens, out, outStride in
                avx2Q8MatrixProduct(weights: w, rowByteCount: stride, blocksPerRow: blocks, rows: rows,
                                    activations: x, activationScales: xs, tokens: tokens,
                                    output: out, outputStride: outStride)
            }
        }
        #endif
        return { w, stride, blocks, rows, x, xs, _, tokens, out, outStride in
            portableQ8MatrixProduct(weights: w, rowByteCount: stride, blocksPerRow: blocks, rows: rows,
                                    activations: x, activationScales: xs, tokens: tokens,
                                    output: out, outputStride: outStride)
        }
    }()

    private static let q4Kernel: @Sendable (
        _ weights: UnsafeRawPointer, _ rowByteCount: Int, _ blocksPerRow: Int, _ hasMinimum: Bool, _ rows: Range<Int>,
        _ activations: UnsafePointer<Int8>, _ activationScales: UnsafePointer<Float>,
        _ activationSums: UnsafePointer<Float>, _ tokens: Int, _ output: UnsafeMutablePointer<Float>,
        _ outputStride: Int
    ) -> Void = {
        #if arch(x86_64)
        if CPUFeatures.hasAVX512 {
            return { w, stride, blocks, hasMinimum, rows, x, xs, sums, tokens, out, outStride in
                vnniQ4MatrixProduct(weights: w, rowByteCount: stride, blocksPerRow: blocks, hasMinimum: hasMinimum,
                                    rows: rows, activations: x, activationScales: xs, activationSums: sums,
                                    tokens: tokens, output: out, outputStride: outStride)
            }
        }
        if CPUFeatures.hasAVX2 {
            return { w, stride, blocks, hasMinimum, rows, x, xs, sums, tokens, out, outStride in
                avx2Q4MatrixProduct(weights: w, rowByteCount: stride, blocksPerRow: blocks, hasMinimum: hasMinimum,
                                    rows: rows, activations: x, activationScales: xs, activationSums: sums,
                                    tokens: tokens, output: out, outputStride: outStride)
            }
        }
        #endif
        return portableQ4MatrixProduct
    }()
}

/// The fallback for CPUs without AVX2: plain loops the compiler vectorizes for the baseline ISA.
func portableQ8MatrixProduct(
    weights: UnsafeRawPointer, rowByteCount: Int, blocksPerRow: Int, rows: Range<Int>,
    activations: UnsafePointer<Int8>, activationScales: UnsafePointer<Float>, tokens: Int,
    output: UnsafeMutablePointer<Float>, outputStride: Int
) {
    let columns = blocksPerRow * Q8Block.valueCount
    for row in rows {
        let rowBase = weights + row * rowByteCount
        for token in 0..<tokens {
            let x = activations + token * columns
            let xScales = activationScales + token * blocksPerRow
            var sum: Float = 0
            for block in 0..<blocksPerRow {
                let blockBase = rowBase + block * Q8Block.byteCount
                let w = (blockBase + Q8Block.valuesOffset).assumingMemoryBound(to: Int8.self)
                let a = x + block * Q8Block.valueCount
                var dot: Int32 = 0
                // 32 products of |values| ≤ 128 sum to at most 2^19: no overflow.
                for i in 0..<Q8Block.valueCount { dot &+= Int32(w[i]) &* Int32(a[i]) }
                sum += Float(blockBase.loadUnaligned(as: Float16.self)) * xScales[block] * Float(dot)
            }
            output[token * outputStride + row] = sum
        }
    }
}

/// The portable Q4_1 / Q4_0 product: the same sums as the AVX2 kernel.
func portableQ4MatrixProduct(
    weights: UnsafeRawPointer, rowByteCount: Int, blocksPerRow: Int, hasMinimum: Bool, rows: Range<Int>,
    activations: UnsafePointer<Int8>, activationScales: UnsafePointer<Float>, activationSums: UnsafePointer<Float>,
    tokens: Int, output: UnsafeMutablePointer<Float>, outputStride: Int
) {
    let columns = blocksPerRow * WeightFormat.valuesPerBlock
    let blockBytes = hasMinimum ? WeightFormat.q4_1.bytesPerBlock : WeightFormat.q4_0.bytesPerBlock
    let nibblesOffset = hasMinimum ? 4 : 2
    for row in rows {
        let rowBase = weights + row * rowByteCount
        for token in 0..<tokens {
            let x = activations + token * columns
            var sum: Float = 0
            for block in 0..<blocksPerRow {
                let base = rowBase + block * blockBytes
                let a = x + block * WeightFormat.valuesPerBlock
                var dot: Int32 = 0
                for i in 0..<16 {
                    let byte = base.load(fromByteOffset: nibblesOffset + i, as: UInt8.self)
                    dot &+= Int32(byte & 0x0F) &* Int32(a[i]) &+ Int32(byte >> 4) &* Int32(a[i + 16])
                }
                let d = Float(base.loadUnaligned(as: Float16.self))
                let scale = activationScales[token * blocksPerRow + block]
                let blockSum = activationSums[token * blocksPerRow + block]
                let offset = hasMinimum ? Float(base.loadUnaligned(fromByteOffset: 2, as: Float16.self)) * blockSum
                                        : -8 * d * blockSum
                sum += d * scale * Float(dot) + offset
            }
            output[token * outputStride + row] = sum
        }
    }
}
