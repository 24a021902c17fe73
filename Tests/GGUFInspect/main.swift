// Test driver for the GGUF layer: what the C API does not reach (row-level Q8_0
// quantization, dequantization, loading a GGUF that is not a runnable model).
//   gguf-inspect load FILE                 JSON lines: header, metadata, tensors; or an error line
//   gguf-inspect time FILE [N]             milliseconds to open+parse FILE (best of N)
//   gguf-inspect quantize IN OUT           quantizeModelToQ8_0
//   gguf-inspect q8 IN.f32 OUT.bin         quantizeRowQ8_0 over raw little-endian floats
//   gguf-inspect dequant TYPE IN OUT COUNT dequantizeRow (TYPE = ggml type id) to raw floats
//   gguf-inspect tensor FILE NAME OUT      tensor NAME of FILE decoded row by row to raw floats
//   gguf-inspect product FILE NAME IN OUT TOKENS
//                                          tensor NAME (used in place) times TOKENS rows of raw floats
//                                          through this process's kernels (KernelProbe); prints the kernel set
//   gguf-inspect tokenize FILE IN [BOS SPECIAL]
//                                          token ids of IN's bytes with FILE's tokenizer (Tokenizer(gguf:), as
//                                          the model loader builds it); BOS/SPECIAL 0|1 (default 0 0)
//   gguf-inspect tokenize-cases FILE CASES one JSON line per line "BOS SPECIAL HEX" of CASES: the ids, and the
//                                          bytes the ids decode to (control tokens silent) as hex
//   gguf-inspect detokenize FILE ID...     the bytes of the ids' pieces (control tokens silent) as hex
//   gguf-inspect tokenizer-time FILE [N]   milliseconds to open FILE and to build its Tokenizer (best of N)
// Errors print {"error": "SWIFTLET_ERROR_...", "message": ...} and exit 1.
import Glibc
import DriverSupport
import SwiftletCore

/// The concatenated pieces of `ids` (raw bytes, no UTF-8 repair), as llama.cpp's token_to_piece gives them.
func pieces(_ tokenizer: Tokenizer, _ ids: [Int32]) throws -> [UInt8] {
    try ids.flatMap { id -> [UInt8] in
        guard let piece = tokenizer.pieceBytes(id) else { throw SwiftletError.invalidArgument("token id \(id) is outside the vocabulary") }
        return piece
    }
}

func run(_ arguments: [String]) throws {
    guard arguments.count >= 3 else { throw SwiftletError.invalidArgument("usage: gguf-inspect load|time|quantize|q8|dequant ...") }
    switch arguments[1] {
    case "load":
        let file = try GGUFFile(path: arguments[2])
        print("{\"version\": \(file.version), \"alignment\": \(file.alignment), \"data_offset\": \(file.dataOffset), "
            + "\"metadata_count\": \(file.metadataKeys.count), \"tensor_count\": \(file.tensors.count)}")
        for key in file.metadataKeys {
            let value = file.metadata(key)!
            var type = value.type.name
            if case .array(let array) = value { type += ":" + array.elementType.name }
            print("{\"key\": \(quoted(key)), \"type\": \"\(type)\", \"value\": \(quoted(value.rendered()))}")
        }
        for tensor in file.tensors {
            print("{\"tensor\": \(quoted(tensor.name)), \"type\": \"\(tensor.type.name)\", \"dims\": \(tensor.dimensions), "
                + "\"offset\": \(tensor.offset), \"bytes\": \(tensor.byteCount), \"elements\": \(tensor.elementCount)}")
        }
    case "time":
        let repeats = arguments.count > 3 ? Int(arguments[3]) ?? 5 : 5
        var best = Double.infinity
        for _ in 0..<repeats {
            let start = now()
            let file = try GGUFFile(path: arguments[2])
            let elapsed = now() - start
            if file.metadataKeys.isEmpty && file.tensors.isEmpty { print("empty") }
            best = min(best, elapsed)
        }
        let file = try GGUFFile(path: arguments[2])
        let renderStart = now()
        var renderedBytes = 0
        for key in file.metadataKeys { renderedBytes += file.metadata(key)!.rendered().utf8.count }
        print("{\"best_ms\": \(best * 1000), \"render_all_ms\": \(1000 * (now() - renderStart)), \"rendered_bytes\": \(renderedBytes)}")
    case "bench-convert":
        // Seconds to convert every non-Q8_0 matrix of FILE to Q8_0 blocks in memory.
        let file = try GGUFFile(path: arguments[2])
        var converted = 0
        let start = now()
        for tensor in file.tensors where tensor.type != .q8_0 && tensor.dimensions.count >= 2 {
            let output = UnsafeMutableRawPointer.allocate(byteCount: tensor.elementCount / 32 * 34, alignment: 64)
            try convertToQ8_0(type: tensor.type, source: file.data(of: tensor).baseAddress!, rows: tensor.rowCount,
                              columns: tensor.rowLength, into: output)
            output.deallocate()
            converted += tensor.elementCount
        }
        let seconds = now() - start
        print("{\"elements\": \(converted), \"seconds\": \(seconds), \"ns_per_element\": \(seconds * 1e9 / Double(converted))}")
    case "quantize":
        guard arguments.count == 4 else { throw SwiftletError.invalidArgument("quantize IN OUT") }
        let start = now()
        try quantizeModelToQ8_0(inputPath: arguments[2], outputPath: arguments[3])
        print("{\"seconds\": \(now() - start)}")
    case "q8":
        guard arguments.count == 4 else { throw SwiftletError.invalidArgument("q8 IN OUT") }
        let input = try readBytes(arguments[2])
        let count = input.count / 4
        var output = [UInt8](repeating: 0, count: count / 32 * 34)
        input.withUnsafeBytes { source in
            let floats = source.bindMemory(to: Float.self)
            output.withUnsafeMutableBytes { quantizeRowQ8_0(source: floats.baseAddress!, into: $0.baseAddress!, count: count) }
        }
        try output.withUnsafeBytes { (raw) in try writeBytes(arguments[3], raw) }
    case "dequant":
        guard arguments.count == 6, let id = UInt32(arguments[2]), let type = GGMLType(rawValue: id),
              let count = Int(arguments[5]) else { throw SwiftletError.invalidArgument("dequant TYPE IN OUT COUNT") }
        let input = try readBytes(arguments[3])
        guard let needed = type.byteCount(elements: count), needed <= input.count else {
            throw SwiftletError.invalidArgument("input too small")
        }
        var output = [Float](repeating: 0, count: count)
        input.withUnsafeBytes { source in
            output.withUnsafeMutableBufferPointer {
                dequantizeRow(type: type, source: source.baseAddress!, into: $0.baseAddress!, count: count)
            }
        }
        try output.withUnsafeBytes { (raw) in try writeBytes(arguments[4], raw) }
    case "tensor":
        guard arguments.count == 5 else { throw SwiftletError.invalidArgument("tensor FILE NAME OUT") }
        let file = try GGUFFile(path: arguments[2])
        guard let tensor = file.tensor(named: arguments[3]) else { throw SwiftletError.notFound("no tensor \(arguments[3])") }
        let source = file.data(of: tensor)
        var output = [Float](repeating: 0, count: tensor.elementCount)
        output.withUnsafeMutableBufferPointer { floats in
            for row in 0..<tensor.rowCount {
                dequantizeRow(type: tensor.type, source: source.baseAddress! + row * tensor.bytesPerRow,
                              into: floats.baseAddress! + row * tensor.rowLength, count: tensor.rowLength)
            }
        }
        try output.withUnsafeBytes { (raw) in try writeBytes(arguments[4], raw) }
    case "product":
        guard arguments.count == 7, let tokens = Int(arguments[6]), tokens > 0 else {
            throw SwiftletError.invalidArgument("product FILE NAME IN OUT TOKENS")
        }
        let file = try GGUFFile(path: arguments[2])
        guard let tensor = file.tensor(named: arguments[3]) else { throw SwiftletError.notFound("no tensor \(arguments[3])") }
        guard let format = WeightFormat(tensor.type), tensor.dimensions.count == 2 else {
            throw SwiftletError.unsupported("\(tensor.name) is \(tensor.type.name), not a matrix in a weight format")
        }
        let matrix = QuantizedMatrix(base: file.data(of: tensor).baseAddress!, rows: tensor.rowCount,
                                     columns: tensor.rowLength, format: format)
        let input = try readBytes(arguments[4])
        guard input.count == tokens * matrix.columns * 4 else {
            throw SwiftletError.invalidArgument("IN must hold \(tokens) × \(matrix.columns) floats")
        }
        var output = [Float](repeating: 0, count: tokens * matrix.rows)
        input.withUnsafeBytes { source in
            output.withUnsafeMutableBufferPointer {
                KernelProbe.multiply(matrix, input: source.bindMemory(to: Float.self).baseAddress!, tokens: tokens,
                                     split: matrix.rows / 3, output: $0.baseAddress!)
            }
        }
        try output.withUnsafeBytes { (raw) in try writeBytes(arguments[5], raw) }
        print("{\"kernels\": \(quoted(CPUFeatures.kernelSetDescription))}")
    case "tokenize":
        guard arguments.count == 4 || arguments.count == 6 else {
            throw SwiftletError.invalidArgument("tokenize FILE IN [BOS SPECIAL]")
        }
        let tokenizer = try Tokenizer(gguf: GGUFFile(path: arguments[2]))
        let ids = tokenizer.encode(try readBytes(arguments[3]), addBOS: arguments.count == 6 && arguments[4] == "1",
                                   parseSpecial: arguments.count == 6 && arguments[5] == "1")
        print("{\"ids\": \(ids)}")
    case "tokenize-cases":
        guard arguments.count == 4 else { throw SwiftletError.invalidArgument("tokenize-cases FILE CASES") }
        let tokenizer = try Tokenizer(gguf: GGUFFile(path: arguments[2]))
        let lines = try readBytes(arguments[3]).split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false)
        for line in lines where !line.isEmpty {
            let fields = line.split(separator: UInt8(ascii: " "), omittingEmptySubsequences: false)
            guard fields.count == 3, let text = fromHex(fields[2]) else {
                throw SwiftletError.invalidArgument("a case line is \"BOS SPECIAL HEX\"")
            }
            let ids = tokenizer.encode(text, addBOS: fields[0] == [UInt8(ascii: "1")],
                                       parseSpecial: fields[1] == [UInt8(ascii: "1")])
            print("{\"ids\": \(ids), \"pieces_hex\": \"\(hex(try pieces(tokenizer, ids)))\"}")
        }
    case "detokenize":
        let tokenizer = try Tokenizer(gguf: GGUFFile(path: arguments[2]))
        let ids = try arguments.dropFirst(3).map { text -> Int32 in
            guard let id = Int32(text) else { throw SwiftletError.invalidArgument("not a token id: \(text)") }
            return id
        }
        print("{\"pieces_hex\": \"\(hex(try pieces(tokenizer, ids)))\"}")
    case "tokenizer-time":
        let repeats = arguments.count > 3 ? Int(arguments[3]) ?? 3 : 3
        var bestOpen = Double.infinity, bestBuild = Double.infinity
        var vocabulary = 0
        for _ in 0..<repeats {
            let start = now()
            let file = try GGUFFile(path: arguments[2])
            let opened = now()
            let tokenizer = try Tokenizer(gguf: file)
            bestBuild = min(bestBuild, now() - opened)
            bestOpen = min(bestOpen, opened - start)
            vocabulary = tokenizer.vocabularySize
        }
        print("{\"open_ms\": \(bestOpen * 1000), \"tokenizer_ms\": \(bestBuild * 1000), \"vocabulary\": \(vocabulary)}")
    default:
        throw SwiftletError.invalidArgument("unknown command \(arguments[1])")
    }
}

runDriver(run)
