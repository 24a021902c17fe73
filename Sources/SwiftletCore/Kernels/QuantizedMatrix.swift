/// A row-major matrix of weight blocks (WeightFormat): `rows` rows of
/// `columns` values, each row `columns / format.blockLength` blocks (32 or 256 values). The memory belongs to whoever made it (the model's
/// file mapping or its arena); the matrix is a plain view and is valid while
/// that owner is alive.
public struct QuantizedMatrix: @unchecked Sendable {
    public let base: UnsafeRawPointer
    public let rows: Int
    public let columns: Int
    public let format: WeightFormat

    public init(base: UnsafeRawPointer, rows: Int, columns: Int, format: WeightFormat) {
        precondition(columns % format.blockLength == 0, "rows are whole blocks")
        self.base = base
        self.rows = rows
        self.columns = columns
        self.format = format
    }

    @inline(__always) public var rowByteCount: Int { format.rowByteCount(columns: columns) }
    @inline(__always) public var blocksPerRow: Int { columns / format.blockLength }

    @inline(__always) public func row(_ index: Int) -> UnsafeRawPointer { base + index * rowByteCount }

    /// Writes row `index` as floats (the embedding lookup, the sgemm path).
    public func dequantizeRow(_ index: Int, into output: UnsafeMutablePointer<Float>) {
        SwiftletCore.dequantizeRow(type: format.tensorType, source: row(index), into: output, count: columns)
    }
}
