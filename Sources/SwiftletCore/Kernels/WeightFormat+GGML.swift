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
}
