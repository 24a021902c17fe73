#if arch(x86_64)
import SwiftletKernelsAVX2
#endif

/// The int8 matrix product every projection runs through, with the kernel
/// chosen once per process from what the CPU supports.
enum Q8MatrixProduct {
    typealias Kernel = @Sendable (
        _ weights: UnsafeRawPointer, _ rowByteCount: Int, _ blocksPerRow: Int, _ rows: Range<Int>,
        _ activations: UnsafePointer<Int8>, _ activationScales: UnsafePointer<Float>, _ tokens: Int,
        _ output: UnsafeMutablePointer<Float>, _ outputStride: Int
    ) -> Void

    static let kernel: Kernel = {
        #if arch(x86_64)
        if CPUFeatures.hasAVX2 {
            return { w, stride, blocks, rows, x, xs, tokens, out, outStride in
                avx2Q8MatrixProduct(weights: w, rowByteCount: stride, blocksPerRow: blocks, rows: rows,
                                    activations: x, activationScales: xs, tokens: tokens,
                                    output: out, outputStride: outStride)
            }
        }
        #endif
        return portableQ8MatrixProduct
    }()

    /// output[t * outputStride + r] = row r of `matrix` · token t of `input`, for r in `rows`.
    @inline(__always)
    static func multiply(_ matrix: QuantizedMatrix, rows: Range<Int>, by input: QuantizedActivations, tokens: Int,
                         into output: UnsafeMutablePointer<Float>, outputStride: Int) {
        kernel(matrix.base, matrix.rowByteCount, matrix.blocksPerRow, rows,
               input.values, input.scales, tokens, output, outputStride)
    }
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
