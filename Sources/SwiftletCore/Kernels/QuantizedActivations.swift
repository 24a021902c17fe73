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
///
/// Weights in 256-value super-blocks (the k-quants, IQ4_XS) are multiplied
/// with the same activations quantized a second way, in `superBlocks`
/// (SuperBlockActivations), when the quantizing caller asks for it.
public struct QuantizedActivations {
    public let values: UnsafeMutablePointer<Int8>
    public let scales: UnsafeMutablePointer<Float>
    public let sums: UnsafeMutablePointer<Float>
    public let columns: Int
    /// The Q8_K-shaped copy; filled only by quantize(_:inputStride:tokens:superBlocks: true).
    public let superBlocks: SuperBlockActivations

    public init(values: UnsafeMutablePointer<Int8>, scales: UnsafeMutablePointer<Float>,
                sums: UnsafeMutablePointer<Float>, columns: Int, superBlocks: SuperBlockActivations) {
        self.values = values
        self.scales = scales
        self.sums = sums
        self.columns = columns
        self.superBlocks = superBlocks
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

    /// Quantizes rows `tokens` of `columns` floats, `inputStride` floats apart;
    /// with `superBlocks`, also into the super-block shape (columns a multiple of 256).
    public func quantize(_ input: UnsafePointer<Float>, inputStride: Int, tokens: Range<Int>, superBlocks withSuperBlocks: Bool) {
        for token in tokens {
            KernelTable.current.quantizeRow(input + token * inputStride, rowValues(token), rowScales(token),
                                            rowSums(token), columns)
            if withSuperBlocks { superBlocks.quantizeRow(input + token * inputStride, token: token) }
        }
    }
}

/// Activations for weights in 256-value super-blocks, ggml's Q8_K in three
/// arrays (SuperBlockActivationLayout): per super-block 256 int8 values, an
/// fp32 scale and sixteen int16 sums of 16 values. Quantized as ggml's
/// quantize_row_q8_K does (scale from the signed value of largest magnitude,
/// round half to even, clamp at 127), so k-quant products compute what
/// llama.cpp's do.
public struct SuperBlockActivations {
    public let values: UnsafeMutablePointer<Int8>
    public let scales: UnsafeMutablePointer<Float>
    public let sums: UnsafeMutablePointer<Int16>
    public let columns: Int

    public init(values: UnsafeMutablePointer<Int8>, scales: UnsafeMutablePointer<Float>,
                sums: UnsafeMutablePointer<Int16>, columns: Int) {
        self.values = values
        self.scales = scales
        self.sums = sums
        self.columns = columns
    }

    /// The same buffers viewed for rows of `columns` values.
    func with(columns: Int) -> SuperBlockActivations {
        SuperBlockActivations(values: values, scales: scales, sums: sums, columns: columns)
    }

    /// Writes the rounded values d·q of `tokens` back as floats, `columns` per token.
    func dequantize(into output: UnsafeMutablePointer<Float>, tokens: Range<Int>) {
        let blockLength = WeightFormat.valuesPerSuperBlock
        for token in tokens {
            let q = values + token * columns, d = scales + token * (columns / blockLength)
            let out = output + token * columns
            for i in 0..<columns { out[i] = d[i / blockLength] * Float(q[i]) }
        }
    }

    /// Quantizes one row of `columns` floats (a multiple of 256) into row `token`.
    func quantizeRow(_ input: UnsafePointer<Float>, token: Int) {
        let blocks = columns / WeightFormat.valuesPerSuperBlock
        KernelTable.current.quantizeSuperBlockRow(input, values + token * columns, scales + token * blocks,
                                                  sums + token * blocks * SuperBlockActivationLayout.sumsPerBlock,
                                                  columns)
    }
}
