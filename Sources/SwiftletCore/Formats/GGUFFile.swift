/// A GGUF file (version 2 or 3), memory-mapped read-only and fully validated
/// when opened: afterwards every tensor's data range is known to lie inside
/// the file, so `data(of:)` needs no further checks.
///
/// Layout: "GGUF", uint32 version, uint64 tensor count, uint64 metadata count,
/// the metadata entries (key string, uint32 type, value), the tensor infos
/// (name, uint32 n_dims, n_dims × uint64 dims, uint32 ggml type, uint64 offset
/// relative to the data section), then the data section, which starts at the
/// next multiple of `general.alignment` (default 32).
///
/// Immutable after init, so one instance may be shared by any number of threads.
public final class GGUFFile: @unchecked Sendable {
    public let path: String
    public let version: Int
    /// Data alignment from `general.alignment`, or 32.
    public let alignment: Int
    /// Metadata keys in file order.
    public let metadataKeys: [String]
    /// Tensors in file order.
    public let tensors: [GGUFTensorInfo]
    /// Absolute offset of the (aligned) data section.
    public let dataOffset: Int

    private let mapping: ReadOnlyMappedFile
    private let metadataValues: [GGUFValue]
    private let metadataIndex: [String: Int]
    private let tensorIndex: [String: Int]

    public static let defaultAlignment = 32
    /// Smallest possible tensor info: 8-byte name length, n_dims, one dim, type, offset.
    private static let minimumTensorInfoSize = 8 + 4 + 8 + 4 + 8
    /// Smallest possible metadata entry: 8-byte key length, type, one-byte value.
    private static let minimumMetadataEntrySize = 8 + 4 + 1

    /// Opens and validates `path`. Errors: .io (cannot open, not a regular
    /// file, cannot map), .invalidFile (not GGUF, truncated, inconsistent),
    /// .unsupported (GGUF version other than 2 or 3, tensor type Swiftlet
    /// does not read).
    public init(path: String) throws(SwiftletError) {
        self.path = path
        mapping = try ReadOnlyMappedFile(path: path)
        var cursor = GGUFByteCursor(mapping.bytes)

        // Header.
        guard mapping.byteCount >= 4, Array(mapping.bytes[0..<4]) == Array("GGUF".utf8) else {
            throw .invalidFile("not a GGUF file: '\(path)' does not start with the GGUF magic")
        }
        _ = try cursor.take(4, "magic")
        let rawVersion = try cursor.uint32("version")
        guard rawVersion == 2 || rawVersion == 3 else {
            if rawVersion.byteSwapped == 2 || rawVersion.byteSwapped == 3 {
                throw .unsupported("'\(path)' is a big-endian GGUF file; only little-endian is supported")
            }
            throw .unsupported("GGUF version \(rawVersion) of '\(path)' is not supported (only versions 2 and 3)")
        }
        version = Int(rawVersion)
        let tensorCount = try cursor.count("tensor count")
        let metadataCount = try cursor.count("metadata entry count")
        guard metadataCount <= cursor.remaining / Self.minimumMetadataEntrySize else {
            throw .invalidFile("metadata entry count \(metadataCount) is impossible: the file has only "
                + "\(cursor.remaining) bytes after the header (file size \(mapping.byteCount))")
        }
        guard tensorCount <= cursor.remaining / Self.minimumTensorInfoSize else {
            throw .invalidFile("tensor count \(tensorCount) is impossible: the file has only "
                + "\(cursor.remaining) bytes after the header (file size \(mapping.byteCount))")
        }

        // Metadata.
        var keys: [String] = []
        var values: [GGUFValue] = []
        var keyIndex: [String: Int] = [:]
        for entry in 0..<metadataCount {
            var key: String?
            do throws(SwiftletError) {
                let parsedKey = try cursor.string("metadata key")
                key = parsedKey
                guard keyIndex[parsedKey] == nil else { throw SwiftletError.invalidFile("duplicate metadata key") }
                let value = try cursor.typedValue()
                keyIndex[parsedKey] = keys.count
                keys.append(parsedKey)
                values.append(value)
            } catch {
                let name = key.map { " \"\($0)\"" } ?? ""
                throw SwiftletError(error.kind, "\(error.message) (metadata entry #\(entry)\(name) of '\(path)')")
            }
        }
        metadataKeys = keys
        metadataValues = values
        metadataIndex = keyIndex

        alignment = try Self.alignment(from: keyIndex["general.alignment"].map { values[$0] }, path: path)

        // Tensor infos: read them all, then place them once the data section is known.
        var rawInfos: [(name: String, dimensions: [Int], type: GGMLType, relativeOffset: Int)] = []
        var nameIndex: [String: Int] = [:]
        for number in 0..<tensorCount {
            var name: String?
            do throws(SwiftletError) {
                let parsedName = try cursor.string("tensor name")
                name = parsedName
                let dimensionCountOffset = cursor.offset
                let dimensionCount = try cursor.uint32("tensor dimension count")
                guard (1...4).contains(dimensionCount) else {
                    throw SwiftletError.invalidFile("dimension count \(dimensionCount) at byte \(dimensionCountOffset) is not between 1 and 4")
                }
                var dimensions: [Int] = []
                for _ in 0..<dimensionCount {
                    let dimensionOffset = cursor.offset
                    let raw = try cursor.uint64("tensor dimension")
                    guard raw >= 1, let dimension = Int(exactly: raw), dimension <= Int(Int64.max) else {
                        throw SwiftletError.invalidFile("dimension \(raw) at byte \(dimensionOffset) is not a positive size")
                    }
                    dimensions.append(dimension)
                }
                let rawType = try cursor.uint32("tensor type")
                let relativeOffset = try cursor.count("tensor data offset")
                guard let type = GGMLType(rawValue: rawType) else {
                    throw SwiftletError.unsupported("tensor type \(GGMLType.describe(typeID: rawType)) is not supported "
                        + "(supported: \(GGMLType.supportedNames))")
                }
                guard nameIndex[parsedName] == nil else { throw SwiftletError.invalidFile("duplicate tensor name") }
                nameIndex[parsedName] = rawInfos.count
                rawInfos.append((parsedName, dimensions, type, relativeOffset))
            } catch {
                let label = name.map { " \"\($0)\"" } ?? ""
                throw SwiftletError(error.kind, "\(error.message) (tensor info #\(number)\(label) of '\(path)')")
            }
        }
        tensorIndex = nameIndex

        let (paddedEnd, overflow) = cursor.offset.addingReportingOverflow(alignment - 1)
        guard !overflow else { throw .invalidFile("data section of '\(path)' cannot be aligned to \(alignment)") }
        dataOffset = paddedEnd & ~(alignment - 1)

        var infos: [GGUFTensorInfo] = []
        infos.reserveCapacity(rawInfos.count)  // bounded: every entry was really parsed
        for raw in rawInfos {
            infos.append(try Self.place(raw, dataOffset: dataOffset, alignment: alignment,
                                        fileSize: mapping.byteCount, path: path))
        }
        tensors = infos
    }

    /// Validates `general.alignment`: any integer type, nonzero power of two.
    private static func alignment(from value: GGUFValue?, path: String) throws(SwiftletError) -> Int {
        guard let value else { return defaultAlignment }
        guard let alignment = value.asInt, alignment > 0, alignment & (alignment - 1) == 0 else {
            throw .invalidFile("general.alignment of '\(path)' must be a nonzero power of two, "
                + "but is \(value.type.name) \(value.rendered())")
        }
        return alignment
    }

    /// Turns a parsed tensor info into a GGUFTensorInfo whose data range is
    /// known to be aligned and inside the file.
    private static func place(_ raw: (name: String, dimensions: [Int], type: GGMLType, relativeOffset: Int),
                              dataOffset: Int, alignment: Int, fileSize: Int,
                              path: String) throws(SwiftletError) -> GGUFTensorInfo {
        let label = "tensor \"\(raw.name)\" of '\(path)'"
        guard raw.dimensions[0] % raw.type.blockSize == 0 else {
            throw .invalidFile("\(label): row length \(raw.dimensions[0]) is not a multiple of the "
                + "\(raw.type.name) block size \(raw.type.blockSize)")
        }
        var elements = 1
        for dimension in raw.dimensions {
            let (product, overflow) = elements.multipliedReportingOverflow(by: dimension)
            guard !overflow else { throw .invalidFile("\(label): dimensions \(raw.dimensions) overflow the element count") }
            elements = product
        }
        guard let byteCount = raw.type.byteCount(elements: elements) else {
            throw .invalidFile("\(label): dimensions \(raw.dimensions) overflow the byte size")
        }
        guard raw.relativeOffset % alignment == 0 else {
            throw .invalidFile("\(label): data offset \(raw.relativeOffset) is not a multiple of the alignment \(alignment)")
        }
        let (start, startOverflow) = dataOffset.addingReportingOverflow(raw.relativeOffset)
        let (end, endOverflow) = start.addingReportingOverflow(byteCount)
        guard !startOverflow, !endOverflow, end <= fileSize else {
            throw .invalidFile("\(label): data (\(byteCount) bytes at data offset \(raw.relativeOffset), "
                + "data section starting at byte \(dataOffset)) runs past the end of the file (\(fileSize) bytes)")
        }
        return GGUFTensorInfo(name: raw.name, dimensions: raw.dimensions, type: raw.type,
                              offset: start, byteCount: byteCount, elementCount: elements)
    }

    /// Size of the file, which is also how many bytes are mapped.
    /// Bytes of model files currently memory-mapped by this process.
    public static var bytesMapped: UInt64 { UInt64(mappedByteTotal.load(ordering: .relaxed)) }

    public var fileSize: Int { mapping.byteCount }

    /// The value of metadata key `key`, or nil if the file has no such key.
    public func metadata(_ key: String) -> GGUFValue? {
        metadataIndex[key].map { metadataValues[$0] }
    }

    /// The metadata entry at `index` in file order, or nil if out of range.
    public func metadata(at index: Int) -> (key: String, value: GGUFValue)? {
        guard index >= 0, index < metadataKeys.count else { return nil }
        return (metadataKeys[index], metadataValues[index])
    }

    public func tensor(named name: String) -> GGUFTensorInfo? {
        tensorIndex[name].map { tensors[$0] }
    }

    /// The bytes of a tensor, valid while this GGUFFile is alive. `tensor`
    /// must come from this file; a range that is not inside this file (a
    /// tensor of another file) gives an empty buffer rather than a bad pointer.
    public func data(of tensor: GGUFTensorInfo) -> UnsafeRawBufferPointer {
        guard let base = mapping.base, tensor.offset >= dataOffset, tensor.byteCount >= 0,
              tensor.offset <= fileSize, tensor.byteCount <= fileSize - tensor.offset else {
            return UnsafeRawBufferPointer(start: nil, count: 0)
        }
        return UnsafeRawBufferPointer(start: base + tensor.offset, count: tensor.byteCount)
    }
}
