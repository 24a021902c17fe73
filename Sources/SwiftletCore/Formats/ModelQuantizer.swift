/// GGUF file type id of "mostly Q8_0" (llama.cpp's LLAMA_FTYPE_MOSTLY_Q8_0).
public let ggufFileTypeMostlyQ8_0: UInt32 = 7

/// The type a tensor gets in a Q8_0 model: matrices (2+ dimensions) whose rows
/// split into 32-blocks become Q8_0; vectors (norms, biases) and anything
/// else stay exact as F32, since they are small and precision-sensitive.
public func q8_0ModelType(for tensor: GGUFTensorInfo) -> GGMLType {
    tensor.dimensions.count >= 2 && tensor.rowLength % 32 == 0 ? .q8_0 : .f32
}

/// Reads any GGUF Swiftlet supports and writes it as a Q8_0 model: tensor
/// types as `q8_0ModelType(for:)` says (Q8_0 input copied bit for bit, other
/// types decoded to float and re-quantized with ggml's reference rounding),
/// tensors and metadata in their original order, general.file_type set to 7
/// (added at the end if absent), general.alignment kept. `outputPath` may even
/// be `inputPath`: the output is written beside it and renamed at the end.
/// Errors: as GGUFFile.init for the input, .io for the output.
public func quantizeModelToQ8_0(inputPath: String, outputPath: String) throws(SwiftletError) {
    let input = try GGUFFile(path: inputPath)
    var writer = GGUFWriter()
    for index in 0..<input.metadataKeys.count {
        if let entry = input.metadata(at: index) { writer.setMetadata(entry.key, entry.value) }
    }
    writer.setMetadata("general.file_type", .uint32(ggufFileTypeMostlyQ8_0))
    for tensor in input.tensors {
        try writer.addTensor(name: tensor.name, dimensions: tensor.dimensions, type: q8_0ModelType(for: tensor))
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
        } else {
            // F32 output: decode row by row (destination is 64-byte aligned scratch).
            let floats = destinationBase.bindMemory(to: Float.self, capacity: tensor.elementCount)
            for row in 0..<tensor.rowCount {
                dequantizeRow(type: tensor.type, source: sourceBase + row * tensor.bytesPerRow,
                              into: floats + row * tensor.rowLength, count: tensor.rowLength)
            }
        }
    }
}
