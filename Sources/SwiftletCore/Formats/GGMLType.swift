/// The ggml tensor element types Swiftlet reads. Raw values are ggml's type
/// ids as stored in GGUF tensor infos.
///
/// Quantized types store elements in blocks along dims[0] (the contiguous
/// row). Q8_0, Q4_0 and Q4_1 are laid out as WeightFormat
/// (SwiftletWeightFormats) describes and computed on in place; the others
/// (Q5_x, the k-quants, IQ4_x) are decoded by BlockDecoding.swift and
/// converted to Q8_0 at load.
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

    /// Values per k-quant (and IQ4_XS) super-block, ggml's QK_K.
    public static let superBlockSize = 256

    /// The names of the types Swiftlet reads, for the error message about other types.
    public static let supportedNames = [f32, f16, bf16, q8_0, q4_0, q4_1, q5_0, q5_1,
                                        q2_K, q3_K, q4_K, q5_K, q6_K, iq4_nl, iq4_xs]
        .map(\.name).joined(separator: ", ")

    /// Elements per block (1 for the plain float types).
    public var blockSize: Int {
        switch self {
        case .f32, .f16, .bf16: return 1
        case .q4_0, .q4_1, .q8_0: return WeightFormat.valuesPerBlock
        case .q5_0, .q5_1, .iq4_nl: return 32
        case .q2_K, .q3_K, .q4_K, .q5_K, .q6_K, .iq4_xs: return Self.superBlockSize
        }
    }

    /// Bytes one block occupies in the file.
    public var bytesPerBlock: Int {
        switch self {
        case .f32: return 4
        case .f16, .bf16: return 2
        case .q4_0, .q4_1, .q8_0: return WeightFormat(self)!.bytesPerBlock
        // The sizes of ggml's block_* structs (see BlockDecoding.swift for the fields).
        case .q5_0: return 22    // d, qh[4], qs[16]
        case .q5_1: return 24    // d, m, qh[4], qs[16]
        case .iq4_nl: return 18  // d, qs[16]
        case .q2_K: return 84    // scales[16], qs[64], d, dmin
        case .q3_K: return 110   // hmask[32], qs[64], scales[12], d
        case .q4_K: return 144   // d, dmin, scales[12], qs[128]
        case .q5_K: return 176   // d, dmin, scales[12], qh[32], qs[128]
        case .q6_K: return 210   // ql[128], qh[64], scales[16], d
        case .iq4_xs: return 136 // d, scales_h, scales_l[4], qs[128]
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
