// Test driver for the safetensors reader (SafeTensorsFile, SafeTensorsCheckpoint).
//   safetensors-inspect load PATH            PATH a .safetensors file or a checkpoint folder. JSON lines:
//                                            a summary line, then one line per tensor (name, dtype, shape,
//                                            elements, bytes, offset, FNV-1a 64 of its bytes); or an error line
//   safetensors-inspect floats PATH NAME OUT tensor NAME (F32, F16 or BF16) of PATH (file or folder) decoded
//                                            to raw little-endian float32 in OUT
// Errors print {"error": "SWIFTLET_ERROR_...", "message": ...} and exit 1.
import Glibc
import DriverSupport
import SwiftletCore

/// FNV-1a, 64-bit, as 16 hex digits: a checksum the tests recompute in Python.
func fnv1a64(_ bytes: UnsafeRawBufferPointer) -> String {
    var hash: UInt64 = 0xcbf2_9ce4_8422_2325
    for byte in bytes { hash = (hash ^ UInt64(byte)) &* 0x0000_0100_0000_01b3 }
    let text = String(hash, radix: 16)
    return String(repeating: "0", count: 16 - text.count) + text
}

func tensorLine(_ tensor: SafeTensorsTensor, file: String? = nil) -> String {
    let shard = file.map { ", \"file\": \(quoted($0))" } ?? ""
    return "{\"tensor\": \(quoted(tensor.name)), \"dtype\": \"\(tensor.dtype.rawValue)\", \"shape\": \(tensor.shape), "
        + "\"elements\": \(tensor.elementCount), \"bytes\": \(tensor.byteCount), \"offset\": \(tensor.offset), "
        + "\"fnv1a64\": \"\(fnv1a64(tensor.bytes))\"\(shard)}"
}

/// The named tensor of a file or a folder, with what keeps its bytes mapped.
func findTensor(_ path: String, _ name: String) throws -> SafeTensorsTensor {
    let tensor = HuggingFaceFolder.isFolder(path) ? try SafeTensorsCheckpoint(folder: path).tensor(named: name)
                                   : try SafeTensorsFile(path: path).tensor(named: name)
    guard let tensor else { throw SwiftletError.notFound("no tensor \(name) in \(path)") }
    return tensor  // holds its file's mapping
}

func run(_ arguments: [String]) throws {
    guard arguments.count >= 3 else { throw SwiftletError.invalidArgument("usage: safetensors-inspect load|floats PATH ...") }
    switch arguments[1] {
    case "load":
        let path = arguments[2]
        if HuggingFaceFolder.isFolder(path) {
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

runDriver(run)
