/// The element types of the safetensors format, spelled as its header spells
/// them ("F32", "BF16", ...). Every dtype of the specification is known, with
/// its size, so a file holding tensors Swiftlet never computes on (the I64
/// `position_ids` of BERT checkpoints) still validates and loads.
public enum SafeTensorsDType: String, Sendable, CaseIterable {
    case bool = "BOOL"
    case u8 = "U8"
    case i8 = "I8"
    case f8_e5m2 = "F8_E5M2"
    case f8_e4m3 = "F8_E4M3"
    case i16 = "I16"
    case u16 = "U16"
    case f16 = "F16"
    case bf16 = "BF16"
    case i32 = "I32"
    case u32 = "U32"
    case f32 = "F32"
    case f64 = "F64"
    case i64 = "I64"
    case u64 = "U64"

    /// Bytes of one element (BOOL is stored as one byte, 0 or 1).
    public var byteSize: Int {
        switch self {
        case .bool, .u8, .i8, .f8_e5m2, .f8_e4m3: return 1
        case .i16, .u16, .f16, .bf16: return 2
        case .i32, .u32, .f32: return 4
        case .f64, .i64, .u64: return 8
        }
    }

    /// The ggml type with the same element encoding, for the float types
    /// Swiftlet computes on (F32, F16, BF16); nil for every other dtype.
    /// Both formats store little-endian IEEE binary32 / binary16 / bfloat16,
    /// so the bytes need no conversion.
    public var ggmlType: GGMLType? {
        switch self {
        case .f32: return .f32
        case .f16: return .f16
        case .bf16: return .bf16
        default: return nil
        }
    }

    /// The header's names of every dtype, for the "unknown dtype" error.
    static let knownNames = allCases.map(\.rawValue).joined(separator: ", ")
}
