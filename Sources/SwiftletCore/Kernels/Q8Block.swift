/// The 8-bit block format every weight matrix is computed in. It is ggml's
/// Q8_0 layout, so Q8_0 tensors of a GGUF file are used straight from the
/// memory mapping: 32 int8 values share one fp16 scale, value = scale × q.
public enum Q8Block {
    /// Values per block: ggml's QK8_0.
    public static let valueCount = 32
    /// Bytes per block: a 2-byte fp16 scale, then 32 int8 values.
    public static let byteCount = 34
    /// Offset of the int8 values inside a block.
    public static let valuesOffset = 2

    /// Bytes of one row of `columns` values (`columns` must be a multiple of 32).
    @inline(__always)
    public static func rowByteCount(columns: Int) -> Int { columns / valueCount * byteCount }
}
