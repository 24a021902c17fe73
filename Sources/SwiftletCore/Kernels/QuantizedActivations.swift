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
        scales + token * (columns / WeightFormat.valuesPerBlock)
    }
    @inline(__always) public func rowSums(_ token: Int) -> UnsafeMutablePointer<Float> {
        sums + token * (columns / WeightFormat.valuesPerBlock)
    }

    /// Writes the rounded values d·q of `tokens` back as floats, `columns` per token.
    public func dequantize(into output: UnsafeMutablePointer<Float>, tokens: Range<Int>) {
        for token in tokens {
            let q = rowValues(token), d = rowScales(token), out = output + token * columns
            for i in 0..<columns { out[i] = d[i / WeightFormat.valuesPerBlock] * Float(q[i]) }
        }
    }

    /// Quantizes rows `tokens` of `columns` floats, `inputStride` floats apart.
    public func quantize(_ input: UnsafePointer<Float>, inputStride: Int, tokens: Range<Int>) {
        for token in tokens {
            KernelTable.current.quantizeRow(input + token * inputStride, rowValues(token), rowScales(token),
                                            rowSums(token), columns)
        }
    }
}
