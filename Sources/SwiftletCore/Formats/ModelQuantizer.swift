/// The model types `swiftlet quantize` writes: the weight matrices in one
/// block type, round-to-nearest as llama.cpp's quantizer does without an
/// importance matrix (BlockEncoding.swift, quantizeRowQ8_0).
public enum QuantizedModelType: String, Sendable, CaseIterable {
    case q8_0, q4_0, q4_1, q5_0, q5_1

    /// The block type the matrices get.
    public var tensorType: GGMLType {
        switch self {
        case .q8_0: return .q8_0
        case .q4_0: return .q4_0
        case .q4_1: return .q4_1
        case .q5_0: return .q5_0
        case .q5_1: return .q5_1
        }
    }

    /// general.file_type: llama.cpp's LLAMA_FTYPE_MOSTLY_* value (llama.h).
    public var fileType: UInt32 {
        switch self {
        case .q4_0: return 2
        case .q4_1: return 3
        case .q8_0: return 7
        case .q5_0: return 8
        case .q5_1: return 9
        }
    }

    /// The type named `name` ("q4_0", "Q4_0", ...), or nil.
    public init?(named name: String) {
        self.init(rawValue: name.lowercased())
    }
}

/// GGUF file type id of "mostly Q8_0" (llama.cpp's LLAMA_FTYPE_MOSTLY_Q8_0).
public let ggufFileTypeMostlyQ8_0: UInt32 = QuantizedModelType.q8_0.fileType

/// The type a tensor gets in a model of `modelType`: matrices (2+ dimensions,
/// the token embedding and output included) whose rows split into 32-value
/// blocks take the model's block type; vectors (norms, biases) and anything
/// else stay exact as F32, since they are small and precision-sensitive.
public func quantizedModelTensorType(for tensor: GGUFTensorInfo, in modelType: QuantizedModelType) -> GGMLType {
    tensor.dimensions.count >= 2 && tensor.rowLength % 32 == 0 ? modelType.tensorType : .f32
}

/// The type a tensor gets in a Q8_0 model (quantizedModelTensorType).
public func q8_0ModelType(for tensor: GGUFTensorInfo) -> GGMLType {
    quantizedModelTensorType(for: tensor, in: .q8_0)
}

/// A GGUF file, or a Hugging Face checkpoint folder presented as the GGUF
/// llama.cpp's converter would write (HuggingFaceFolder).
public func openModelFile(_ path: String) throws(SwiftletError) -> any ModelFile {
    guard HuggingFaceFolder.isFolder(path) else { return try GGUFFile(path: path) }
    do {
        return try HuggingFaceFolder(path: path)
    } catch let error as SwiftletError {
        throw error
    } catch {
        throw SwiftletError.invalidFile("\(path): \(error)")
    }
}

/// Reads any GGUF Swiftlet supports (or a Hugging Face checkpoint folder:
/// `swiftlet convert`) and writes it as a `modelType` model (nil: every
/// tensor in the type it is stored in, the converter's `--outtype auto`):
/// tensor types as `quantizedModelTensorType` says (a tensor already of its
/// target type copied bit for bit, others decoded to float and re-quantized
/// with ggml's reference rounding), tensors and metadata in their original
/// order, general.file_type set to `modelType.fileType` (added at the end if
/// absent), general.alignment kept. `outputPath` may even be `inputPath`: the
/// output is written beside it and renamed at the end.
/// Errors: as GGUFFile.init for the input, .unsupported for an input tensor
/// that must be decoded but cannot be (Q5_0, Q5_1), .io for the output.
public func quantizeModel(inputPath: String, outputPath: String,
                          to modelType: QuantizedModelType?) throws(SwiftletError) {
    let input = try openModelFile(inputPath)
    var writer = GGUFWriter()
    for index in 0..<input.metadataKeys.count {
        if let entry = input.metadata(at: index) { writer.setMetadata(entry.key, entry.value) }
    }
    if let modelType { writer.setMetadata("general.file_type", .uint32(modelType.fileType)) }
    for tensor in input.tensors {
        let type = modelType.map { quantizedModelTensorType(for: tensor, in: $0) } ?? tensor.type
        try writer.addTensor(name: tensor.name, dimensions: tensor.dimensions, type: type)
    }

    try writer.write(to: outputPath) { (index, target, destination) throws(SwiftletError) in
        let tensor = input.tensors[index]
        let source = input.data(of: tensor)
        guard let sourceBase = source.baseAddress, let destinationBase = destination.baseAddress else { return }
        if target.type == tensor.type {
            destination.copyMemory(from: source)
        } else if target.type == .q8_0 {
            try convertToQ8_0(type: tensor.type, source: sourceBase, rows: tensor.rowCount,
                              columns: tensor.rowLength, into: destinationBase)
        } else if target.type == .f32 {
            // Decode row by row (destination is 64-byte aligned scratch).
            let floats = destinationBase.bindMemory(to: Float.self, capacity: tensor.elementCount)
            for row in 0..<tensor.rowCount {
                dequantizeRow(type: tensor.type, source: sourceBase + row * tensor.bytesPerRow,
                              into: floats + row * tensor.rowLength, count: tensor.rowLength)
            }
        } else {
            let row = UnsafeMutablePointer<Float>.allocate(capacity: tensor.rowLength)
            defer { row.deallocate() }
            let outputRowBytes = target.type.byteCount(elements: tensor.rowLength)!  // rowLength % 32 == 0
            for rowIndex in 0..<tensor.rowCount {
                dequantizeRow(type: tensor.type, source: sourceBase + rowIndex * tensor.bytesPerRow,
                              into: row, count: tensor.rowLength)
                quantizeRow(type: target.type, source: row, into: destinationBase + rowIndex * outputRowBytes,
                            count: tensor.rowLength)
            }
        }
    }
}

/// quantizeModel to Q8_0.
public func quantizeModelToQ8_0(inputPath: String, outputPath: String) throws(SwiftletError) {
    try quantizeModel(inputPath: inputPath, outputPath: outputPath, to: .q8_0)
}
