#if canImport(Glibc)
import Glibc
#endif

/// One tensor GGUFWriter will write: its shape and type (data comes later,
/// from the `tensorData` callback of `write`).
public struct GGUFTensorDescriptor: Sendable, Equatable {
    public let name: String
    /// ggml order: dimensions[0] is the contiguous row length.
    public let dimensions: [Int]
    public let type: GGMLType
    public let elementCount: Int
    public let byteCount: Int
}

/// Builds a GGUF version 3 file: metadata in the order it was set, tensor
/// infos, then each tensor's data padded to the alignment. The alignment is
/// `general.alignment` if the metadata has it, else 32. Tensor data is
/// produced one tensor at a time by a callback, so writing a large model never
/// holds more than its largest tensor in memory.
public struct GGUFWriter {
    public private(set) var metadata: [(key: String, value: GGUFValue)] = []
    public private(set) var tensors: [GGUFTensorDescriptor] = []
    private var metadataIndex: [String: Int] = [:]
    private var tensorNames: Set<String> = []

    public init() {}

    /// Sets `key` to `value`: in place if the key exists (keeping the order),
    /// otherwise appended.
    public mutating func setMetadata(_ key: String, _ value: GGUFValue) {
        if let index = metadataIndex[key] {
            metadata[index].value = value
        } else {
            metadataIndex[key] = metadata.count
            metadata.append((key, value))
        }
    }

    /// Adds a tensor after the ones already added. Errors: .invalidArgument
    /// for a duplicate name, 0 or more than 4 dimensions, a dimension below 1,
    /// a row length that is not a multiple of the type's block size, or a size
    /// that overflows.
    public mutating func addTensor(name: String, dimensions: [Int], type: GGMLType) throws(SwiftletError) {
        guard !tensorNames.contains(name) else { throw .invalidArgument("GGUFWriter: duplicate tensor name \"\(name)\"") }
        guard (1...4).contains(dimensions.count), dimensions.allSatisfy({ $0 >= 1 }) else {
            throw .invalidArgument("GGUFWriter: tensor \"\(name)\" has invalid dimensions \(dimensions)")
        }
        var elements = 1
        for dimension in dimensions {
            let (product, overflow) = elements.multipliedReportingOverflow(by: dimension)
            guard !overflow else { throw .invalidArgument("GGUFWriter: tensor \"\(name)\" dimensions \(dimensions) overflow") }
            elements = product
        }
        guard dimensions[0] % type.blockSize == 0, let bytes = type.byteCount(elements: elements) else {
            throw .invalidArgument("GGUFWriter: tensor \"\(name)\" \(dimensions) does not fit \(type.name) blocks of \(type.blockSize)")
        }
        tensorNames.insert(name)
        tensors.append(GGUFTensorDescriptor(name: name, dimensions: dimensions, type: type,
                                            elementCount: elements, byteCount: bytes))
    }

    /// The alignment the file will use. Errors: .invalidArgument if
    /// `general.alignment` is set but not an integer power of two.
    public func alignment() throws(SwiftletError) -> Int {
        guard let index = metadataIndex["general.alignment"] else { return GGUFFile.defaultAlignment }
        let value = metadata[index].value
        guard let alignment = value.asInt, alignment > 0, alignment & (alignment - 1) == 0,
              alignment <= 1 << 30 else {
            throw .invalidArgument("GGUFWriter: general.alignment must be a power of two, got \(value.rendered())")
        }
        return alignment
    }

    /// Writes the file. `tensorData(index, tensor, destination)` must fill
    /// `destination` (exactly tensor.byteCount bytes, zeroed beforehand) with
    /// the data of `tensors[index]`; it is called once per tensor, in order.
    /// The file appears at `path` only when complete. Errors: .io, whatever the
    /// callback throws, .invalidArgument (bad general.alignment).
    public func write(to path: String,
                      tensorData: (_ index: Int, _ tensor: GGUFTensorDescriptor,
                                   _ destination: UnsafeMutableRawBufferPointer) throws(SwiftletError) -> Void)
    throws(SwiftletError) {
        let alignment = try alignment()
        let output = try GGUFOutputFile(path: path)

        try output.append(contentsOf: "GGUF")
        try output.append(littleEndian: UInt32(3))
        try output.append(littleEndian: UInt64(tensors.count))
        try output.append(littleEndian: UInt64(metadata.count))
        for (key, value) in metadata {
            try output.append(string: key)
            try output.append(littleEndian: value.type.rawValue)
            try output.append(value: value)
        }

        var relativeOffset = 0
        for tensor in tensors {
            try output.append(string: tensor.name)
            try output.append(littleEndian: UInt32(tensor.dimensions.count))
            for dimension in tensor.dimensions { try output.append(littleEndian: UInt64(dimension)) }
            try output.append(littleEndian: tensor.type.rawValue)
            try output.append(littleEndian: UInt64(relativeOffset))
            let (padded, paddingOverflow) = tensor.byteCount.addingReportingOverflow(alignment - 1)
            let (next, overflow) = relativeOffset.addingReportingOverflow(padded / alignment * alignment)
            guard !paddingOverflow, !overflow else { throw .invalidArgument("GGUFWriter: tensor data too large to address") }
            relativeOffset = next
        }
        try output.pad(to: alignment)

        // One buffer, sized for the largest tensor, reused for all of them.
        // posix_memalign rather than Swift's allocate, which aborts on failure.
        let largest = max(tensors.map(\.byteCount).max() ?? 0, 1)
        var memory: UnsafeMutableRawPointer?
        guard posix_memalign(&memory, 64, largest) == 0, let memory else {
            throw SwiftletError(.outOfMemory, "GGUFWriter: cannot allocate \(largest) bytes for tensor data")
        }
        defer { free(memory) }
        let scratch = UnsafeMutableRawBufferPointer(start: memory, count: largest)
        for (index, tensor) in tensors.enumerated() {
            let destination = UnsafeMutableRawBufferPointer(rebasing: scratch[0..<tensor.byteCount])
            destination.initializeMemory(as: UInt8.self, repeating: 0)
            try tensorData(index, tensor, destination)
            try output.append(UnsafeRawBufferPointer(destination))
            try output.pad(to: alignment)
        }
        try output.commit()
    }
}

extension GGUFOutputFile {
    func append(contentsOf text: String) throws(SwiftletError) {
        try append(packed: Array(text.utf8))
    }

    /// A metadata value without its type id (the caller writes that).
    func append(value: GGUFValue) throws(SwiftletError) {
        switch value {
        case .uint8(let v): try append(littleEndian: v)
        case .int8(let v): try append(littleEndian: v)
        case .uint16(let v): try append(littleEndian: v)
        case .int16(let v): try append(littleEndian: v)
        case .uint32(let v): try append(littleEndian: v)
        case .int32(let v): try append(littleEndian: v)
        case .uint64(let v): try append(littleEndian: v)
        case .int64(let v): try append(littleEndian: v)
        case .float32(let v): try append(littleEndian: v.bitPattern)
        case .float64(let v): try append(littleEndian: v.bitPattern)
        case .bool(let v): try append(littleEndian: UInt8(v ? 1 : 0))
        case .string(let v): try append(string: v)
        case .array(let v): try append(array: v)
        }
    }

    /// An array: element type id, count, then the elements.
    func append(array: GGUFArray) throws(SwiftletError) {
        try append(littleEndian: array.elementType.rawValue)
        try append(littleEndian: UInt64(array.count))
        switch array {
        case .uint8(let v): try append(packed: v)
        case .int8(let v): try append(packed: v)
        case .uint16(let v): try append(packed: v)
        case .int16(let v): try append(packed: v)
        case .uint32(let v): try append(packed: v)
        case .int32(let v): try append(packed: v)
        case .uint64(let v): try append(packed: v)
        case .int64(let v): try append(packed: v)
        case .float32(let v): try append(packed: v.map(\.bitPattern))
        case .float64(let v): try append(packed: v.map(\.bitPattern))
        case .bool(let v): try append(packed: v.map { UInt8($0 ? 1 : 0) })
        case .string(let v): for string in v { try append(string: string) }
        case .array(let v): for inner in v { try append(array: inner) }
        }
    }
}
