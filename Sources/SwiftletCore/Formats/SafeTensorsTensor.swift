/// One tensor of a validated safetensors file: its name, type, shape and bytes.
/// Created only by SafeTensorsFile, after the tensor's range was checked to lie
/// inside the file and to have exactly `elementCount × dtype.byteSize` bytes.
///
/// The value holds its file's mapping, so `bytes` stays valid as long as this
/// value (or its SafeTensorsFile) is alive. A pointer taken out of `bytes`
/// does not keep anything alive: use it inside `withExtendedLifetime(tensor)`.
///
/// Alignment: safetensors promises none. A tensor starts at byte
/// 8 + header length + begin, and neither the header length nor the offsets
/// need be multiples of anything (writers usually pad the header to 8 bytes,
/// but a file is valid without it). Read `bytes` with `loadUnaligned`, or copy
/// when a kernel needs aligned data; `isAligned(to:)` says whether it may be
/// used in place.
public struct SafeTensorsTensor: @unchecked Sendable {  // immutable; the mapping is immutable too
    public let name: String
    public let dtype: SafeTensorsDType
    /// Row-major, as stored: shape[0] is the slowest-varying dimension, the
    /// last entry the contiguous one. Empty for a 0-dimensional (scalar)
    /// tensor; entries may be 0 (a tensor with no elements).
    public let shape: [Int]
    /// Product of `shape` (1 for a scalar, 0 if any dimension is 0).
    public let elementCount: Int
    /// elementCount × dtype.byteSize, which is also `bytes.count`.
    public let byteCount: Int
    /// Absolute byte offset of the data in its file.
    public let offset: Int
    private let mapping: ReadOnlyMappedFile

    init(name: String, dtype: SafeTensorsDType, shape: [Int], elementCount: Int, byteCount: Int,
         offset: Int, mapping: ReadOnlyMappedFile) {
        self.name = name
        self.dtype = dtype
        self.shape = shape
        self.elementCount = elementCount
        self.byteCount = byteCount
        self.offset = offset
        self.mapping = mapping
    }

    /// The path of the file that holds this tensor.
    public var path: String { mapping.path }

    /// The tensor's bytes inside the read-only mapping (empty when it has no
    /// elements). Valid while this value or its file is alive; unaligned.
    public var bytes: UnsafeRawBufferPointer {
        guard byteCount > 0, let base = mapping.base else { return UnsafeRawBufferPointer(start: nil, count: 0) }
        // In range: SafeTensorsFile checked offset + byteCount <= file size.
        return UnsafeRawBufferPointer(start: base + offset, count: byteCount)
    }

    /// Whether the data starts at a multiple of `alignment` bytes in memory
    /// (the mapping itself starts on a page boundary). An empty tensor is aligned.
    public func isAligned(to alignment: Int) -> Bool {
        guard alignment > 0, let start = bytes.baseAddress else { return true }
        return Int(bitPattern: start) % alignment == 0
    }

    /// ggml's order of the dimensions (dimensions[0] the contiguous one), as
    /// GGUFTensorInfo.dimensions holds them: `shape` reversed, and [1] for a scalar.
    public var ggmlDimensions: [Int] { shape.isEmpty ? [1] : shape.reversed() }
}
