/// Where one tensor lives in a GGUF file and what shape it has. Created only
/// by GGUFFile after every field was validated against the file.
public struct GGUFTensorInfo: Sendable, Equatable {
    public let name: String
    /// ggml order: dimensions[0] is the contiguous row length (the fastest
    /// varying index). 1 to 4 entries, each at least 1.
    public let dimensions: [Int]
    public let type: GGMLType
    /// Absolute byte offset of the tensor's data in the file.
    public let offset: Int
    public let byteCount: Int
    public let elementCount: Int

    /// Elements in one row (dimensions[0]).
    public var rowLength: Int { dimensions[0] }
    /// Rows: the product of every dimension after the first.
    public var rowCount: Int { elementCount / dimensions[0] }
    /// Bytes of one row in the file.
    public var bytesPerRow: Int { byteCount / rowCount }
}
