/// A safetensors file, memory-mapped read-only and fully validated when
/// opened: afterwards every tensor's bytes are known to lie inside the file
/// and to match its dtype and shape.
///
/// Layout: a little-endian uint64 N, then N bytes of UTF-8 JSON (the header),
/// then the data region, which runs to the end of the file. The header is an
/// object: an optional "__metadata__" (string → string) and, per tensor,
/// `"name": {"dtype": "F32", "shape": [2, 3], "data_offsets": [begin, end]}`
/// with the offsets relative to the start of the data region.
///
/// The checks follow the reference implementation (huggingface/safetensors):
/// a header of at most 100 MB; the tensors, sorted by offset, tile the data
/// region exactly — the first begins at 0, each begins where the previous one
/// ended, the last ends at the end of the file — so no byte is shared by two
/// tensors or belongs to none. Stricter than the reference: a tensor entry
/// with a field other than the three above is rejected, not ignored.
///
/// Tensor data is not aligned to anything (see SafeTensorsTensor).
///
/// Immutable after init, so one instance may be shared by any number of threads.
public final class SafeTensorsFile: @unchecked Sendable {
    public let path: String
    /// Tensors in the order the header lists them.
    public let tensors: [SafeTensorsTensor]
    /// The header's "__metadata__" map (empty if absent), e.g. ["format": "pt"].
    public let metadata: [String: String]
    /// Length of the JSON header (the N of the first 8 bytes).
    public let headerByteCount: Int
    /// Absolute offset of the data region: 8 + headerByteCount.
    public let dataOffset: Int

    private let mapping: ReadOnlyMappedFile
    private let tensorIndex: [String: Int]

    /// The reference implementation's limit on N; a larger header is refused
    /// before anything is read (a hostile N must not make us parse gigabytes).
    public static let maximumHeaderByteCount = 100_000_000
    static let metadataKey = "__metadata__"

    /// Opens and validates `path`. Errors: .io (cannot open, not a regular
    /// file, cannot map); .invalidFile for anything wrong inside the file,
    /// naming the file, the tensor and the problem.
    public init(path: String) throws(SwiftletError) {
        self.path = path
        mapping = try ReadOnlyMappedFile(path: path)
        let fileSize = mapping.byteCount
        let file = "'\(path)'"

        guard fileSize >= 8 else {
            throw .invalidFile("not a safetensors file: \(file) has \(fileSize) bytes, too few for the 8-byte header length")
        }
        let rawLength = UInt64(littleEndian: mapping.bytes.loadUnaligned(as: UInt64.self))
        guard rawLength <= UInt64(Self.maximumHeaderByteCount) else {
            throw .invalidFile("header length \(rawLength) of \(file) exceeds the limit of "
                + "\(Self.maximumHeaderByteCount) bytes (file size \(fileSize))")
        }
        guard rawLength <= UInt64(fileSize - 8) else {
            throw .invalidFile("truncated file: header length \(rawLength) of \(file) runs past the end of the file "
                + "(only \(fileSize - 8) bytes follow the length)")
        }
        headerByteCount = Int(rawLength)  // ≤ 100 MB, so it fits
        dataOffset = 8 + headerByteCount
        let dataRegionSize = fileSize - dataOffset

        let headerBytes = UnsafeRawBufferPointer(rebasing: mapping.bytes[8..<dataOffset])
        let header = try JSONValue.parse(headerBytes, what: "safetensors header of \(file)")
        guard case .object(let members) = header else {
            throw .invalidFile("the header of \(file) is not a JSON object")
        }

        var metadata: [String: String] = [:]
        var placed: [(name: String, dtype: SafeTensorsDType, shape: [Int], elements: Int, begin: Int, end: Int)] = []
        placed.reserveCapacity(members.count)  // bounded: every member was really parsed
        for (name, entry) in members.members {
            if name == Self.metadataKey {
                metadata = try Self.metadata(entry, file: file)
                continue
            }
            let label = "tensor \"\(name)\" of \(file)"
            do throws(SwiftletError) {
                guard !name.isEmpty else { throw SwiftletError.invalidFile("empty tensor name") }
                let tensor = try Self.tensorEntry(entry)
                guard tensor.end <= dataRegionSize else {
                    throw SwiftletError.invalidFile("data_offsets [\(tensor.begin), \(tensor.end)] run past the end of the file "
                        + "(data region has \(dataRegionSize) bytes, starting at byte \(dataOffset))")
                }
                placed.append((name, tensor.dtype, tensor.shape, tensor.elements, tensor.begin, tensor.end))
            } catch {
                throw SwiftletError(error.kind, "\(error.message) (\(label))")
            }
        }
        self.metadata = metadata

        // The tensors must tile the data region exactly. Sorting by (begin, end)
        // puts empty tensors before a tensor starting at the same offset.
        let order = placed.indices.sorted { (placed[$0].begin, placed[$0].end) < (placed[$1].begin, placed[$1].end) }
        var expectedBegin = 0
        var previous: String?
        for index in order {
            let tensor = placed[index]
            let after = previous.map { "tensor \"\($0)\", which ends at \(expectedBegin)" } ?? "the start of the data region"
            if tensor.begin > expectedBegin {
                throw .invalidFile("hole of \(tensor.begin - expectedBegin) bytes in the data region: tensor \"\(tensor.name)\" "
                    + "begins at \(tensor.begin), after \(after); tensors must be contiguous (\(file))")
            }
            if tensor.begin < expectedBegin {
                throw .invalidFile("tensor \"\(tensor.name)\" (data_offsets [\(tensor.begin), \(tensor.end)]) overlaps "
                    + "\(after) (\(file))")
            }
            expectedBegin = tensor.end
            previous = tensor.name
        }
        guard expectedBegin == dataRegionSize else {
            let last = previous.map { "after the last tensor \"\($0)\" (which ends at \(expectedBegin))" } ?? "and there are no tensors"
            throw .invalidFile("\(dataRegionSize - expectedBegin) trailing bytes of the data region belong to no tensor: "
                + "the region has \(dataRegionSize) bytes, \(last) (\(file))")
        }

        var nameIndex: [String: Int] = [:]
        var tensors: [SafeTensorsTensor] = []
        tensors.reserveCapacity(placed.count)
        for tensor in placed {
            nameIndex[tensor.name] = tensors.count  // names are unique: the JSON parser rejects duplicate keys
            tensors.append(SafeTensorsTensor(name: tensor.name, dtype: tensor.dtype, shape: tensor.shape,
                                             elementCount: tensor.elements, byteCount: tensor.end - tensor.begin,
                                             offset: dataOffset + tensor.begin, mapping: mapping))
        }
        self.tensors = tensors
        tensorIndex = nameIndex
    }

    /// Size of the file in bytes.
    public var fileSize: Int { mapping.byteCount }

    public func tensor(named name: String) -> SafeTensorsTensor? {
        tensorIndex[name].map { tensors[$0] }
    }

    /// "__metadata__": an object whose values are all strings (null counts as absent,
    /// as in the reference implementation).
    private static func metadata(_ entry: JSONValue, file: String) throws(SwiftletError) -> [String: String] {
        if entry.isNull { return [:] }
        guard case .object(let object) = entry else {
            throw .invalidFile("\"\(metadataKey)\" of \(file) is not an object of strings")
        }
        var map: [String: String] = [:]
        for (key, value) in object.members {
            guard case .string(let text) = value else {
                throw .invalidFile("\"\(metadataKey)\" entry \"\(key)\" of \(file) is not a string")
            }
            map[key] = text
        }
        return map
    }

    /// One tensor's header entry, checked on its own (not yet against the other tensors).
    private static func tensorEntry(_ entry: JSONValue) throws(SwiftletError)
        -> (dtype: SafeTensorsDType, shape: [Int], elements: Int, begin: Int, end: Int) {
        guard case .object(let fields) = entry else {
            throw .invalidFile("the entry is not an object with dtype, shape and data_offsets")
        }
        for key in fields.keys where !["dtype", "shape", "data_offsets"].contains(key) {
            throw .invalidFile("unknown field \"\(key)\" (expected only dtype, shape, data_offsets)")
        }
        guard let dtypeValue = fields["dtype"] else { throw .invalidFile("missing field \"dtype\"") }
        guard case .string(let dtypeName) = dtypeValue else { throw .invalidFile("field \"dtype\" is not a string") }
        guard let dtype = SafeTensorsDType(rawValue: dtypeName) else {
            throw .invalidFile("unknown dtype \"\(dtypeName)\" (known: \(SafeTensorsDType.knownNames))")
        }

        guard let shapeValue = fields["shape"] else { throw .invalidFile("missing field \"shape\"") }
        guard case .array(let shapeItems) = shapeValue else { throw .invalidFile("field \"shape\" is not an array") }
        var shape: [Int] = []
        shape.reserveCapacity(shapeItems.count)
        var elements = 1
        for (axis, item) in shapeItems.enumerated() {
            // Strictly an integer literal: 2.0 or 1e3 is not a dimension (serde's usize agrees).
            guard case .integer(let dimension) = item, dimension >= 0 else {
                throw .invalidFile("shape[\(axis)] is \(item), not a non-negative integer")
            }
            let (product, overflow) = elements.multipliedReportingOverflow(by: dimension)
            guard !overflow else { throw .invalidFile("shape \(shapeValue) overflows the element count") }
            elements = product
            shape.append(dimension)
        }
        let (byteCount, byteOverflow) = elements.multipliedReportingOverflow(by: dtype.byteSize)
        guard !byteOverflow else { throw .invalidFile("shape \(shape) of \(dtype.rawValue) overflows the byte size") }

        guard let offsetsValue = fields["data_offsets"] else { throw .invalidFile("missing field \"data_offsets\"") }
        guard case .array(let offsets) = offsetsValue, offsets.count == 2 else {
            throw .invalidFile("field \"data_offsets\" is \(offsetsValue), not an array [begin, end]")
        }
        guard case .integer(let begin) = offsets[0], begin >= 0, case .integer(let end) = offsets[1], end >= 0 else {
            throw .invalidFile("data_offsets \(offsetsValue) are not two non-negative integers")
        }
        guard end >= begin else { throw .invalidFile("data_offsets [\(begin), \(end)] end before they begin") }
        guard end - begin == byteCount else {
            throw .invalidFile("data_offsets [\(begin), \(end)] hold \(end - begin) bytes, but shape \(shape) of "
                + "\(dtype.rawValue) needs \(elements) × \(dtype.byteSize) = \(byteCount) bytes")
        }
        return (dtype, shape, elements, begin, end)
    }
}
