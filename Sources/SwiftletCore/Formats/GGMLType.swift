/// The ggml tensor element types Swiftlet reads. Raw values are ggml's type
/// ids as stored in GGUF tensor infos.
///
/// Quantized types store elements in blocks along dims[0] (the contiguous
/// row), laid out as WeightFormat (SwiftletWeightFormats) describes.
public enum GGMLType: UInt32, Sendable, CaseIterable {
    case f32 = 0
    case f16 = 1
    case q4_0 = 2
    case q4_1 = 3
    case q5_0 = 6
    case q5_1 = 7
    case q8_0 = 8
    case bf16 = 30

    /// Elements per block (1 for the plain float types).
    public var blockSize: Int {
        switch self {
        case .f32, .f16, .bf16: return 1
        case .q4_0, .q4_1, .q8_0: return WeightFormat.valuesPerBlock
        case .q5_0, .q5_1: return 32
        }
    }

    /// Bytes one block occupies in the file.
    public var bytesPerBlock: Int {
        switch self {
        case .f32: return 4
        case .f16, .bf16: return 2
        case .q4_0, .q4_1, .q8_0: return WeightFormat(self)!.bytesPerBlock
        case .q5_0: return 22  // fp16 d, 4 bytes of fifth bits qh, 16 bytes of nibbles qs
        case .q5_1: return 24  // fp16 d, fp16 minimum m, qh, qs
        }
    }

    /// ggml's name for the type, e.g. "Q8_0".
    public var name: String {
        switch self {
        case .f32: return "F32"
        case .f16: return "F16"
        case .q4_0: return "Q4_0"
        case .q4_1: return "Q4_1"
        case .q5_0: return "Q5_0"
        case .q5_1: return "Q5_1"
        case .q8_0: return "Q8_0"
        case .bf16: return "BF16"
        }
    }

    /// Bytes needed for `count` elements, or nil if `count` is negative, not a
    /// whole number of blocks, or the size overflows.
    public func byteCount(elements count: Int) -> Int? {
        guard count >= 0, count % blockSize == 0 else { return nil }
        let (bytes, overflow) = (count / blockSize).multipliedReportingOverflow(by: bytesPerBlock)
        return overflow ? nil : bytes
    }

    /// A readable name for any ggml type id, including ones Swiftlet does not
    /// support, so "unsupported type" errors can say which type it was.
    public static func describe(typeID: UInt32) -> String {
        if let known = GGMLType(rawValue: typeID) { return "\(known.name) (type id \(typeID))" }
        // Names of the other ids ggml has assigned, for the error message only.
        let otherNames: [UInt32: String] = [
            6: "Q5_0", 7: "Q5_1", 9: "Q8_1", 10: "Q2_K", 11: "Q3_K", 12: "Q4_K", 13: "Q5_K",
            14: "Q6_K", 15: "Q8_K", 16: "IQ2_XXS", 17: "IQ2_XS", 18: "IQ3_XXS", 19: "IQ1_S",
            20: "IQ4_NL", 21: "IQ3_S", 22: "IQ2_S", 23: "IQ4_XS", 24: "I8", 25: "I16", 26: "I32",
            27: "I64", 28: "F64", 29: "IQ1_M", 34: "TQ1_0", 35: "TQ2_0", 39: "MXFP4",
        ]
        if let name = otherNames[typeID] { return "\(name) (type id \(typeID))" }
        return "id \(typeID) (unknown)"
    }
}
