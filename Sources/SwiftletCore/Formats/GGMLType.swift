/// The ggml tensor element types Swiftlet reads. Raw values are ggml's type
/// ids as stored in GGUF tensor infos.
///
/// Quantized types store elements in blocks along dims[0] (the contiguous
/// row). Every quantized type here is a WeightFormat (SwiftletWeightFormats
/// spells the layouts) and computed on in place; BlockDecoding.swift decodes
/// them to floats (the embedding lookup, the sgemm path).
public enum GGMLType: UInt32, Sendable, CaseIterable {
    case f32 = 0
    case f16 = 1
    case q4_0 = 2
    case q4_1 = 3
    case q5_0 = 6
    case q5_1 = 7
    case q8_0 = 8
    case q2_K = 10
    case q3_K = 11
    case q4_K = 12
    case q5_K = 13
    case q6_K = 14
    case iq4_nl = 20
    case iq4_xs = 23
    case bf16 = 30

    /// The names of the types Swiftlet reads, for the error message about other types.
    public static let supportedNames = [f32, f16, bf16, q8_0, q4_0, q4_1, q5_0, q5_1,
                                        q2_K, q3_K, q4_K, q5_K, q6_K, iq4_nl, iq4_xs]
        .map(\.name).joined(separator: ", ")

    /// Elements per block (1 for the plain float types).
    public var blockSize: Int { WeightFormat(self)?.blockLength ?? 1 }

    /// Bytes one block occupies in the file.
    public var bytesPerBlock: Int {
        if let format = WeightFormat(self) { return format.bytesPerBlock }
        return self == .f32 ? 4 : 2  // f16, bf16
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
        case .q2_K: return "Q2_K"
        case .q3_K: return "Q3_K"
        case .q4_K: return "Q4_K"
        case .q5_K: return "Q5_K"
        case .q6_K: return "Q6_K"
        case .iq4_nl: return "IQ4_NL"
        case .iq4_xs: return "IQ4_XS"
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
            9: "Q8_1", 15: "Q8_K", 16: "IQ2_XXS", 17: "IQ2_XS", 18: "IQ3_XXS", 19: "IQ1_S",
            21: "IQ3_S", 22: "IQ2_S", 24: "I8", 25: "I16", 26: "I32",
            27: "I64", 28: "F64", 29: "IQ1_M", 34: "TQ1_0", 35: "TQ2_0", 39: "MXFP4",
        ]
        if let name = otherNames[typeID] { return "\(name) (type id \(typeID))" }
        return "id \(typeID) (unknown)"
    }
}
