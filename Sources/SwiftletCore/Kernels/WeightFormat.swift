/// The block formats weight matrices are computed in, all ggml layouts, so
/// such tensors of a GGUF file are used straight from the memory mapping.
/// Every block holds 32 consecutive values of a row:
///  - q8_0: fp16 scale d, 32 int8 q; value = d·q (34 bytes)
///  - q4_1: fp16 d, fp16 min m, 16 bytes of nibbles; value = d·q + m (20 bytes)
///  - q4_0: fp16 d, 16 bytes of nibbles; value = d·(q − 8) (18 bytes)
/// Nibbles: byte i holds value i in its low half and value i + 16 in its high half.
/// Computing on the 4-bit blocks directly (rather than converting them to
/// 8-bit at load) halves the bytes streamed per generated token.
public enum WeightFormat: Sendable {
    case q8_0, q4_1, q4_0

    /// Values per block: ggml's QK.
    public static let valuesPerBlock = 32

    public var bytesPerBlock: Int {
        switch self {
        case .q8_0: return 34
        case .q4_1: return 20
        case .q4_0: return 18
        }
    }

    /// The GGUF tensor type with this layout.
    public var tensorType: GGMLType {
        switch self {
        case .q8_0: return .q8_0
        case .q4_1: return .q4_1
        case .q4_0: return .q4_0
        }
    }

    /// The format a tensor of `type` is used in as it is, or nil if it must be converted (to q8_0).
    public init?(_ type: GGMLType) {
        switch type {
        case .q8_0: self = .q8_0
        case .q4_1: self = .q4_1
        case .q4_0: self = .q4_0
        default: return nil
        }
    }

    /// Bytes of one row of `columns` values (`columns` a multiple of 32).
    @inline(__always)
    public func rowByteCount(columns: Int) -> Int { columns / Self.valuesPerBlock * bytesPerBlock }
}

/// The 8-bit block layout's constants, for code that builds Q8_0 rows.
public enum Q8Block {
    public static let valueCount = WeightFormat.valuesPerBlock
    public static let byteCount = 34
    public static let valuesOffset = 2

    @inline(__always)
    public static func rowByteCount(columns: Int) -> Int { WeightFormat.q8_0.rowByteCount(columns: columns) }
}
