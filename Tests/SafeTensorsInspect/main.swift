// Test driver for the safetensors reader (SafeTensorsFile, SafeTensorsCheckpoint).
//   safetensors-inspect load PATH            PATH a .safetensors file or a checkpoint folder. JSON lines:
//                                            a summary line, then one line per tensor (name, dtype, shape,
//                                            elements, bytes, offset, FNV-1a 64 of its bytes); or an error line
//   safetensors-inspect floats PATH NAME OUT tensor NAME (F32, F16 or BF16) of PATH (file or folder) decoded
//                                            to raw little-endian float32 in OUT
// Errors print {"error": "SWIFTLET_ERROR_...", "message": ...} and exit 1.
import Glibc
import SwiftletCore

func statusName(_ kind: SwiftletError.Kind) -> String {
    switch kind {
    case .invalidArgument: return "SWIFTLET_ERROR_INVALID_ARGUMENT"
    case .io: return "SWIFTLET_ERROR_IO"
    case .invalidFile: return "SWIFTLET_ERROR_INVALID_FILE"
    case .unsupported: return "SWIFTLET_ERROR_UNSUPPORTED"
    case .notFound: return "SWIFTLET_ERROR_NOT_FOUND"
    case .bufferTooSmall: return "SWIFTLET_ERROR_BUFFER_TOO_SMALL"
    case .contextFull: return "SWIFTLET_ERROR_CONTEXT_FULL"
    case .cancelled: return "SWIFTLET_ERROR_CANCELLED"
    case .outOfMemory: return "SWIFTLET_ERROR_OUT_OF_MEMORY"
    case .template: return "SWIFTLET_ERROR_TEMPLATE"
    case .internal: return "SWIFTLET_ERROR_INTERNAL"
    case .busy: return "SWIFTLET_ERROR_BUSY"
    }
}

func quoted(_ text: String) -> String {
    var out: [UInt8] = [0x22]
    for byte in text.utf8 {
        switch byte {
        case 0x22, 0x5C: out += [0x5C, byte]
        case 0x0A: out += Array("\\n".utf8)
        case 0x0D: out += Array("\\r".utf8)
        case 0x09: out += Array("\\t".utf8)
        case 0..<0x20:
            let hex = Array("0123456789abcdef".utf8)
            out += Array("\\u00".utf8) + [hex[Int(byte >> 4)], hex[Int(byte & 15)]]
        default: out.append(byte)
        }
    }
    out.append(0x22)
    return String(decoding: out, as: UTF8.self)
}

func writeBytes(_ path: String, _ bytes: UnsafeRawBufferPointer) throws {
    guard let file = fopen(path, "wb") else { throw SwiftletError.io("cannot create \(path)") }
    defer { fclose(file) }
    guard bytes.isEmpty || fwrite(bytes.baseAddress, 1, bytes.count, file) == bytes.count else {
        throw SwiftletError.io("short write \(path)")
    }
}

/// FNV-1a, 64-bit, as 16 hex digits: a checksum the tests recompute in Python.
func fnv1a64(_ bytes: UnsafeRawBufferPointer) -> String {
    var hash: UInt64 = 0xcbf2_9ce4_8422_2325
    for byte in bytes { hash = (hash ^ UInt64(byte)) &* 0x0000_0100_0000_01b3 }
    let text = String(hash, radix: 16)
    return String(repeating: "0", count: 16 - text.count) + text
}

func isDirectory(_ path: String) -> Bool {
    var status = stat()
    return stat(path, &status) == 0 && status.st_mode & S_IFMT == S_IFDIR
}

func tensorLine(_ tensor: SafeTensorsTensor, file: String? = nil) -> String {
    let shard = file.map { ", \"file\": \(quoted($0))" } ?? ""
    return "{\"tensor\": \(quoted(tensor.name)), \"dtype\": \"\(tensor.dtype.rawValue)\", \"shape\": \(tensor.shape), "
        + "\"elements\": \(tensor.elementCount), \"bytes\": \(tensor.byteCount), \"offset\": \(tensor.offset), "
        + "\"fnv1a64\": \"\(fnv1a64(tensor.bytes))\"\(shard)}"
}

/// The named tensor of a file or a folder, with what keeps its bytes mapped.
func findTensor(_ path: String, _ name: String) throws -> SafeTensorsTensor {
    let tensor = isDirectory(path) ? try SafeTensorsCheckpoint(folder: path).tensor(named: name)
                                   : try SafeTensorsFile(path: path).tensor(named: name)
    guard let tensor else { throw SwiftletError.notFound("no tensor \(name) in \(path)") }
    return tensor  // holds its file's mapping
}

func run(_ arguments: [String]) throws {
    guard arguments.count >= 3 else { throw SwiftletError.invalidArgument("usage: safetensors-inspect load|floats PATH ...") }
    switch arguments[1] {
    case "load":
        let path = arguments[2]
        if isDirectory(path) {
            let checkpoint = try SafeTensorsCheckpoint(folder: path)
            let shards = checkpoint.files.map { quoted($0.path) }.joined(separator: ", ")
            print("{\"folder\": \(quoted(path)), \"sharded\": \(checkpoint.indexPath != nil), \"files\": [\(shards)], "
                + "\"tensor_count\": \(checkpoint.tensors.count)}")
            for tensor in checkpoint.tensors { print(tensorLine(tensor, file: tensor.path)) }
        } else {
            let file = try SafeTensorsFile(path: path)
            let metadata = file.metadata.keys.sorted().map { "\(quoted($0)): \(quoted(file.metadata[$0]!))" }
                .joined(separator: ", ")
            print("{\"file\": \(quoted(path)), \"header_bytes\": \(file.headerByteCount), \"data_offset\": \(file.dataOffset), "
                + "\"tensor_count\": \(file.tensors.count), \"metadata\": {\(metadata)}}")
            for tensor in file.tensors { print(tensorLine(tensor)) }
        }
    case "floats":
        guard arguments.count == 5 else { throw SwiftletError.invalidArgument("floats PATH NAME OUT") }
        let tensor = try findTensor(arguments[2], arguments[3])
        guard let type = tensor.dtype.ggmlType else {
            throw SwiftletError.unsupported("\(tensor.name) is \(tensor.dtype.rawValue), not F32, F16 or BF16")
        }
        var output = [Float](repeating: 0, count: tensor.elementCount)
        withExtendedLifetime(tensor) {
            output.withUnsafeMutableBufferPointer { floats in
                if let source = tensor.bytes.baseAddress, let destination = floats.baseAddress {
                    dequantizeRow(type: type, source: source, into: destination, count: tensor.elementCount)
                }
            }
        }
        try output.withUnsafeBytes { raw in try writeBytes(arguments[4], raw) }
    default:
        throw SwiftletError.invalidArgument("unknown command \(arguments[1])")
    }
}

do {
    try run(CommandLine.arguments)
} catch let error as SwiftletError {
    print("{\"error\": \"\(statusName(error.kind))\", \"message\": \(quoted(error.message))}")
    exit(1)
} catch {
    print("{\"error\": \"other\", \"message\": \(quoted("\(error)"))}")
    exit(1)
}
