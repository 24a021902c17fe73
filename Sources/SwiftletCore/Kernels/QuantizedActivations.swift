#if arch(x86_64)
import SwiftletKernelsAVX2
#endif

/// Activations quantized on the fly for int8·int8 dot products: per 32-value
/// block an fp32 scale `d = max|x| / 127` and `q = round(x / d)`. The scale
/// stays fp32 (unlike the weights' fp16) because it is never stored in a file
/// and fp32 keeps the activation error at the int8 rounding alone.
///
/// Per block also `d · Σq`, which 4-bit weights with an offset need: for
/// value = a·q_w + b, Σ value·x = a·d·Σ q_w·q + b·(d·Σq) (ggml's Q8_1 idea).
///
/// Layout: `tokens` rows of `columns` int8 values, and `tokens` rows of
/// `columns / 32` scales and as many sums. Memory is borrowed from the context's scratch.
public struct QuantizedActivations {
    public let values: UnsafeMutablePointer<Int8>
    public let scales: UnsafeMutablePointer<Float>
    public let sums: UnsafeMutablePointer<Float>
    public let columns: Int

    public init(values: UnsafeMutablePointer<Int8>, scales: UnsafeMutablePointer<Float>,
                sums: UnsafeMutablePointer<Float>, columns: Int) {
        self.values = values
        self.scales = scales
        self.sums = sums
        self.columns = columns
    }

    @inline(__always) public func rowValues(_ token: Int) -> UnsafeMutablePointer<Int8> { values + token * columns }
    @inline(__always) public func rowScales(_ token: Int) -> UnsafeMutablePointer<Float> {
        scales + token * (columns / Q8Block.valueCount)
    }
    @inline(__always) public func rowSums(_ token: Int) -> UnsafeMutablePointer<Float> {
        sums + token * (columns / Q8Block.valueCount)
    }

    /// Writes the rounded values d·q of `tokens` back as floats, `columns` per token.
    public func dequantize(into output: UnsafeMutablePointer<Float>, tokens: Range<Int>) {
        for token in tokens {
            let q = rowValues(token), d = rowScales(token), out = output + token * columns
            for i in 0..<columns { out[i] = d[i / Q8Block.valueCount] * Float(q[i]) }
        }
    }

    /// Quantizes rows `tokens` of `columns` floats, `inputStride` floats apart.
    public func quantize(_ input: UnsafePointer<Float>, inputStride: Int, tokens: Range<Int>) {
        for token in tokens {
            quantizeRow(input + token * inputStride, values: rowValues(token), scales: rowScales(token),
                        sums: rowSums(token), count: columns)
        }
    }
}

/// One row, with the AVX2 kernel where the CPU has it.
@inline(__always)
func quantizeRow(_ input: UnsafePointer<Float>, values: UnsafeMutablePointer<Int8>,
                 scales: UnsafeMutablePointer<Float>, sums: UnsafeMutablePointer<Float>, count: Int) {
    #if arch(x86_64)
    if CPUFeatures.hasAVX2 {
        avx2QuantizeRow(input, values: values, scales: scales, sums: sums, count: count)
        return
    }
    #endif
    portableQuantizeRow(input, values: values, scales: scales, sums: sums, count: count)
}

/// One row: the rounding is half away from zero, as C's `roundf` (but
/// without its library call on baseline x86-64: truncate, then step away from
/// zero when the dropped part is at least a half; exact since |x/d| ≤ 127).
func portableQuantizeRow(_ input: UnsafePointer<Float>, values: UnsafeMutablePointer<Int8>,
                         scales: UnsafeMutablePointer<Float>, sums: UnsafeMutablePointer<Float>, count: Int) {
    for block in 0..<(count / Q8Block.valueCount) {
        let x = input + block * Q8Block.valueCount
        var maxMagnitude: Float = 0
        for i in 0..<Q8Block.valueCount { maxMagnitude = max(maxMagnitude, abs(x[i])) }
        let scale = maxMagnitude / 127
        let inverse: Float = scale != 0 ? 1 / scale : 0
        let q = values + block * Q8Block.valueCount
        var sum: Int32 = 0
        for i in 0..<Q8Block.valueCount {
            q[i] = Int8(roundedHalfAwayFromZero(x[i] * inverse))
            sum &+= Int32(q[i])  // |sum| ≤ 32 · 127
        }
        scales[block] = scale
        sums[block] = scale * Float(sum)
    }
}

/// `v` (|v| ≤ 127 for finite activations) rounded, clamped to ±127. A NaN
/// or infinity (a broken model file) gives ±127 instead of trapping.
@inline(__always)
func roundedHalfAwayFromZero(_ v: Float) -> Int32 {
    guard v.magnitude < 127 else { return v > 0 ? 127 : -127 }
    let truncated = Int32(v)
    let dropped = v - Float(truncated)
    return dropped >= 0.5 ? truncated + 1 : (dropped <= -0.5 ? truncated - 1 : truncated)
}
