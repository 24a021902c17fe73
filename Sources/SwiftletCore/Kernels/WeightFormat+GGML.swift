@_exported import SwiftletWeightFormats

/// Which GGUF tensor types are used in place as a WeightFormat (the layouts
/// live in SwiftletWeightFormats, shared with the kernel modules).
extension WeightFormat {
    /// The GGUF tensor type with this layout.
    public var tensorType: GGMLType {
        switch self {
        case .q8_0: return .q8_0
        case .q4_1: return .q4_1
        case .q4_0: return .q4_0
        case .q5_0: return .q5_0
        case .q5_1: return .q5_1
        case .iq4_nl: return .iq4_nl
        case .q2_K: return .q2_K
        case .q3_K: return .q3_K
        case .q4_K: return .q4_K
        case .q5_K: return .q5_K
        case .q6_K: return .q6_K
        case .iq4_xs: return .iq4_xs
        }
    }

    /// The format a tensor of `type` is used in as it is, or nil if it must be converted (to q8_0).
    public init?(_ type: GGMLType) {
        guard let format = Self.allCases.first(where: { $0.tensorType == type }) else { return nil }
        self = format
    }
}
