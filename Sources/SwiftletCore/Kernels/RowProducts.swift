#if arch(x86_64)
import SwiftletKernelsAVX2
import SwiftletKernelsAVX512
#endif

// Which row product each kernel set runs for each weight format
// (KernelTable.rowProduct(for:)). Every switch names every format, so a new
// format cannot be added without a kernel in every set. The AVX-512 set has
// VNNI kernels for the 8- and 4-bit formats and runs the AVX2 ones for the
// others (AVX2 runs on every AVX-512 CPU).

/// A 32-value-block kernel's parameters: weights, row bytes, blocks per row,
/// rows, activation values, scales, d·Σq sums, tokens, output, output stride.
typealias BlockKernel = @Sendable (
    UnsafeRawPointer, Int, Int, Range<Int>, UnsafePointer<Int8>, UnsafePointer<Float>, UnsafePointer<Float>,
    Int, UnsafeMutablePointer<Float>, Int
) -> Void

/// A super-block kernel's parameters: as BlockKernel, with Q8_K-shaped
/// activations (SuperBlockActivations: int16 sums per 16 values).
typealias SuperBlockKernel = @Sendable (
    UnsafeRawPointer, Int, Int, Range<Int>, UnsafePointer<Int8>, UnsafePointer<Float>, UnsafePointer<Int16>,
    Int, UnsafeMutablePointer<Float>, Int
) -> Void

extension KernelTable {
    /// A row product from a kernel over the 32-value activation blocks.
    static func blocks(_ kernel: @escaping BlockKernel) -> RowProduct {
        { w, rowBytes, blocks, rows, x, tokens, out, stride in
            kernel(w, rowBytes, blocks, rows, x.values, x.scales, x.sums, tokens, out, stride)
        }
    }

    /// A row product from a kernel over the super-block activations.
    static func superBlocks(_ kernel: @escaping SuperBlockKernel) -> RowProduct {
        { w, rowBytes, blocks, rows, x, tokens, out, stride in
            let s = x.superBlocks
            kernel(w, rowBytes, blocks, rows, s.values, s.scales, s.sums, tokens, out, stride)
        }
    }

    static func portableRowProduct(_ format: WeightFormat) -> RowProduct {
        switch format {
        case .q8_0:
            return { portableQ8MatrixProduct(weights: $0, rowByteCount: $1, blocksPerRow: $2, rows: $3,
                                             activations: $4, tokens: $5, output: $6, outputStride: $7) }
        case .q4_1, .q4_0:
            return { portableQ4MatrixProduct(weights: $0, rowByteCount: $1, blocksPerRow: $2, format: format,
                                             rows: $3, activations: $4, tokens: $5, output: $6, outputStride: $7) }
        case .q2_K: return superBlocks(portableQ2_KMatrixProduct)
        case .q3_K: return superBlocks(portableQ3_KMatrixProduct)
        case .q4_K: return superBlocks(portableQ4_KMatrixProduct)
        case .q5_K: return superBlocks(portableQ5_KMatrixProduct)
        case .q6_K: return superBlocks(portableQ6_KMatrixProduct)
        case .iq4_xs: return superBlocks(portableIQ4_XSMatrixProduct)
        case .q5_0: return blocks(portableQ5_0MatrixProduct)
        case .q5_1: return blocks(portableQ5_1MatrixProduct)
        case .iq4_nl: return blocks(portableIQ4_NLMatrixProduct)
        }
    }

    #if arch(x86_64)
    static func avx2RowProduct(_ format: WeightFormat) -> RowProduct {
        switch format {
        case .q8_0:
            return { w, rowBytes, blocks, rows, x, tokens, out, stride in
                avx2Q8MatrixProduct(weights: w, rowByteCount: rowBytes, blocksPerRow: blocks, rows: rows,
                                    activations: x.values, activationScales: x.scales, tokens: tokens,
                                    output: out, outputStride: stride)
            }
        case .q4_1, .q4_0:
            let hasMinimum = format == .q4_1
            return blocks { avx2Q4MatrixProduct(weights: $0, rowByteCount: $1, blocksPerRow: $2, hasMinimum: hasMinimum,
                                                rows: $3, activations: $4, activationScales: $5, activationSums: $6,
                                                tokens: $7, output: $8, outputStride: $9) }
        case .q2_K: return superBlocks(avx2Q2_KMatrixProduct)
        case .q3_K: return superBlocks(avx2Q3_KMatrixProduct)
        case .q4_K: return superBlocks(avx2Q4_KMatrixProduct)
        case .q5_K: return superBlocks(avx2Q5_KMatrixProduct)
        case .q6_K: return superBlocks(avx2Q6_KMatrixProduct)
        case .iq4_xs: return superBlocks(avx2IQ4_XSMatrixProduct)
        case .q5_0: return blocks(avx2Q5_0MatrixProduct)
        case .q5_1: return blocks(avx2Q5_1MatrixProduct)
        case .iq4_nl: return blocks(avx2IQ4_NLMatrixProduct)
        }
    }

    static func vnniRowProduct(_ format: WeightFormat) -> RowProduct {
        switch format {
        case .q8_0:
            return { w, rowBytes, blocks, rows, x, tokens, out, stride in
                vnniQ8MatrixProduct(weights: w, rowByteCount: rowBytes, blocksPerRow: blocks, rows: rows,
                                    activations: x.values, activationScales: x.scales, activationSums: x.sums,
                                    tokens: tokens, output: out, outputStride: stride)
            }
        case .q4_1, .q4_0:
            let hasMinimum = format == .q4_1
            return blocks { vnniQ4MatrixProduct(weights: $0, rowByteCount: $1, blocksPerRow: $2, hasMinimum: hasMinimum,
                                                rows: $3, activations: $4, activationScales: $5, activationSums: $6,
                                                tokens: $7, output: $8, outputStride: $9) }
        case .q5_0, .q5_1, .iq4_nl, .q2_K, .q3_K, .q4_K, .q5_K, .q6_K, .iq4_xs:
            return avx2RowProduct(format)
        }
    }
    #endif
}
