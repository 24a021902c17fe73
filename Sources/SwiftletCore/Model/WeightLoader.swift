import Synchronization

/// Finds the tensors of a model in its GGUF file, checks their shapes, and
/// makes them computable: matrices in a WeightFormat (the 8-, 5- and 4-bit
/// blocks, the k-quants, IQ4) are used in place from the mapping, float
/// ones (F32, F16, BF16) are quantized to Q8_0 blocks in the model's arena; vectors
/// (norm weights) become fp32, in place when the file already stores F32.
struct WeightLoader {
    let file: any ModelFile
    let arena: Arena
    let pool: WorkerPool
    /// Arena buffers the weights point into; the model keeps them alive.
    private(set) var ownedBuffers: [AnyObject] = []
    /// Reported after each tensor, by bytes of the file's tensors done so far,
    /// over the span `progressRange` of the whole load.
    private let progress: LoadProgress
    private let progressRange: ClosedRange<Double>
    private let totalBytes: Int
    private var loadedBytes = 0

    init(file: any ModelFile, arena: Arena, pool: WorkerPool, progress: LoadProgress = LoadProgress(),
         progressRange: ClosedRange<Double> = 0...1) {
        self.file = file
        self.arena = arena
        self.pool = pool
        self.progress = progress
        self.progressRange = progressRange
        totalBytes = max(1, file.tensors.reduce(0) { $0 + $1.byteCount })
    }

    private mutating func loaded(_ info: GGUFTensorInfo) throws {
        loadedBytes += info.byteCount
        let done = Double(loadedBytes) / Double(totalBytes)
        try progress(progressRange.lowerBound + done * (progressRange.upperBound - progressRange.lowerBound))
    }

    func has(_ name: String) -> Bool { file.tensor(named: name) != nil }

    /// What the weights point into: the file mapping and the arena buffers.
    var storage: [AnyObject] { ownedBuffers + [file] }

    /// output.weight, or `embedding` itself when the file has none (tied).
    mutating func output(tiedTo embedding: QuantizedMatrix, rows: Int, columns: Int) throws -> QuantizedMatrix {
        has("output.weight") ? try matrix("output.weight", rows: rows, columns: columns) : embedding
    }

    private func tensor(_ name: String, dimensions expected: [Int]) throws -> GGUFTensorInfo {
        guard let info = file.tensor(named: name) else { throw SwiftletError.notFound("missing tensor \(name)") }
        guard info.dimensions == expected else {
            throw SwiftletError.invalidFile("tensor \(name) has shape \(info.dimensions), expected \(expected)")
        }
        return info
    }

    /// The rows of a matrix tensor whose rows hold `columns` values (a table
    /// whose length the file decides, like BERT's token types).
    func rowCount(of name: String, columns: Int) throws -> Int {
        guard let info = file.tensor(named: name) else { throw SwiftletError.notFound("missing tensor \(name)") }
        guard info.dimensions.count == 2, info.dimensions[0] == columns else {
            throw SwiftletError.invalidFile("tensor \(name) has shape \(info.dimensions), expected [\(columns), rows]")
        }
        return info.dimensions[1]
    }

    /// A matrix with `rows` outputs of `columns` inputs (ggml dims [columns, rows]).
    /// Tensors in a WeightFormat are used in place; float ones become Q8_0.
    mutating func matrix(_ name: String, rows: Int, columns: Int) throws -> QuantizedMatrix {
        let info = try tensor(name, dimensions: [columns, rows])
        let matrix = try makeMatrix(name, info, rows: rows, columns: columns)
        try loaded(info)
        return matrix
    }

    private mutating func makeMatrix(_ name: String, _ info: GGUFTensorInfo, rows: Int, columns: Int) throws -> QuantizedMatrix {
        let source = file.data(of: info)
        if let format = WeightFormat(info.type) {
            return QuantizedMatrix(base: source.baseAddress!, rows: rows, columns: columns, format: format)
        }
        let rowBytes = WeightFormat.q8_0.rowByteCount(columns: columns)
        let buffer = try ArenaBuffer<UInt8>(count: rows * rowBytes, in: arena)
        ownedBuffers.append(buffer)
        let sourceRowBytes = info.byteCount / rows
        let destination = buffer.pointer
        let type = info.type
        let failed = Atomic<Bool>(false)
        pool.parallelFor(rows) { range in
            do {
                try convertToQ8_0(type: type, source: source.baseAddress! + range.lowerBound * sourceRowBytes,
                                  rows: range.count, columns: columns, into: destination + range.lowerBound * rowBytes)
            } catch {
                failed.store(true, ordering: .relaxed)
            }
        }
        if failed.load(ordering: .relaxed) {
            throw SwiftletError.invalidFile("tensor \(name) (\(type)) cannot be converted to 8-bit blocks")
        }
        return QuantizedMatrix(base: UnsafeRawPointer(destination), rows: rows, columns: columns, format: .q8_0)
    }

    /// y = W·x (+ b): `name`.weight, and `name`.bias when `bias`.
    mutating func projection(_ name: String, rows: Int, columns: Int, bias: Bool) throws -> Projection {
        Projection(matrix: try matrix(name + ".weight", rows: rows, columns: columns),
                   bias: bias ? try vector(name + ".bias", count: rows) : nil)
    }

    /// A norm of `count` values: `name`.weight, and `name`.bias when `bias` (LayerNorm).
    mutating func norm(_ name: String, count: Int, bias: Bool) throws -> Norm {
        Norm(weight: try vector(name + ".weight", count: count), bias: bias ? try vector(name + ".bias", count: count) : nil)
    }

    /// A vector of `count` floats.
    mutating func vector(_ name: String, count: Int) throws -> UnsafePointer<Float> {
        let info = try tensor(name, dimensions: [count])
        try loaded(info)
        let source = file.data(of: info)
        if info.type == .f32, Int(bitPattern: source.baseAddress!) % MemoryLayout<Float>.alignment == 0 {
            // Used in place; a file with an odd general.alignment gets a copy instead.
            return source.baseAddress!.assumingMemoryBound(to: Float.self)
        }
        let buffer = try ArenaBuffer<Float>(count: count, in: arena)
        ownedBuffers.append(buffer)
        dequantizeRow(type: info.type, source: source.baseAddress!, into: buffer.pointer, count: count)
        return UnsafePointer(buffer.pointer)
    }
}
