/// Conversions between ggml tensor encodings and float rows, with ggml's byte
/// layouts (see GGMLType). All reads and writes of file bytes are unaligned-
/// safe, because GGUF only promises the alignment the file declares.

/// Whether dequantizeRow decodes `type`: all but Q5_0 and Q5_1, which
/// Swiftlet only writes so far (`swiftlet quantize --type q5_0`).
public func canDequantize(_ type: GGMLType) -> Bool {
    type != .q5_0 && type != .q5_1
}

/// Decodes `count` elements of `type` starting at `source` into `destination`.
/// `count` must be a multiple of `type.blockSize`; a trailing partial block is
/// ignored. `type` must be one canDequantize accepts.
public func dequantizeRow(type: GGMLType, source: UnsafeRawPointer,
                          into destination: UnsafeMutablePointer<Float>, count: Int) {
    switch type {
    case .f32:
        if count > 0 { UnsafeMutableRawPointer(destination).copyMemory(from: source, byteCount: count * 4) }
    case .f16:
        for index in 0..<max(count, 0) {
            destination[index] = halfToFloat(UInt16(littleEndian: source.loadUnaligned(fromByteOffset: 2 * index, as: UInt16.self)))
        }
    case .bf16:
        // bfloat16 is the top half of an IEEE float32.
        for index in 0..<max(count, 0) {
            let bits = UInt32(UInt16(littleEndian: source.loadUnaligned(fromByteOffset: 2 * index, as: UInt16.self)))
            destination[index] = Float(bitPattern: bits << 16)
        }
    case .q8_0:
        let layout = WeightFormat.q8_0
        for block in 0..<max(count, 0) / 32 {
            let blockStart = source + block * layout.bytesPerBlock
            let scale = loadHalf(blockStart)
            let output = destination + block * 32
            for index in 0..<32 {
                let quant = Int8(bitPattern: blockStart.load(fromByteOffset: layout.valuesOffset + index, as: UInt8.self))
                output[index] = Float(quant) * scale
            }
        }
    case .q4_0:
        let layout = WeightFormat.q4_0
        for block in 0..<max(count, 0) / 32 {
            let blockStart = source + block * layout.bytesPerBlock
            let scale = loadHalf(blockStart)
            let output = destination + block * 32
            for index in 0..<16 {
                let byte = blockStart.load(fromByteOffset: layout.valuesOffset + index, as: UInt8.self)
                output[index] = Float(Int(byte & 0x0F) - 8) * scale
                output[index + 16] = Float(Int(byte >> 4) - 8) * scale
            }
        }
    case .q4_1:
        let layout = WeightFormat.q4_1
        for block in 0..<max(count, 0) / 32 {
            let blockStart = source + block * layout.bytesPerBlock
            let scale = loadHalf(blockStart)
            let minimum = loadHalf(blockStart + WeightFormat.minimumOffset)
            let output = destination + block * 32
            for index in 0..<16 {
                let byte = blockStart.load(fromByteOffset: layout.valuesOffset + index, as: UInt8.self)
                // Multiply, then add, as two roundings: ggml's reference does not fuse them.
                let low = Float(byte & 0x0F) * scale
                let high = Float(byte >> 4) * scale
                output[index] = low + minimum
                output[index + 16] = high + minimum
            }
        }
    case .q5_0, .q5_1:
        preconditionFailure("dequantizeRow: \(type.name) blocks are not decoded yet (see canDequantize)")
    }
}

/// Quantizes `count` floats (a multiple of 32) to Q8_0 blocks, bit for bit as
/// ggml's reference quantize_row_q8_0_ref: per block d = max|x| / 127,
/// q = round-half-away-from-zero(x * (1 / d)), d stored as IEEE half (round to
/// nearest even). Finite and infinite inputs match exactly; NaN inputs give
/// unspecified (but trap-free) blocks.
public func quantizeRowQ8_0(source: UnsafePointer<Float>, into destination: UnsafeMutableRawPointer, count: Int) {
    for block in 0..<max(count, 0) / 32 {
        let input = source + block * 32
        let output = destination + block * WeightFormat.q8_0.bytesPerBlock
        // Four running maxima break the dependency chain; max is associative
        // for non-NaN values, so the result is the reference's.
        var maxima: (Float, Float, Float, Float) = (0, 0, 0, 0)
        for index in stride(from: 0, to: 32, by: 4) {
            maxima.0 = Swift.max(maxima.0, abs(input[index]))
            maxima.1 = Swift.max(maxima.1, abs(input[index + 1]))
            maxima.2 = Swift.max(maxima.2, abs(input[index + 2]))
            maxima.3 = Swift.max(maxima.3, abs(input[index + 3]))
        }
        let maximum = Swift.max(Swift.max(maxima.0, maxima.1), Swift.max(maxima.2, maxima.3))
        let scale = maximum / 127
        let inverse: Float = scale != 0 ? 1 / scale : 0
        output.storeBytes(of: floatToHalf(scale).littleEndian, as: UInt16.self)
        let quants = (output + WeightFormat.q8_0.valuesOffset).bindMemory(to: Int8.self, capacity: 32)
        for index in 0..<32 {
            quants[index] = roundedToInt8(input[index] * inverse)
        }
    }
}

/// roundf (half away from zero) of a quotient, as Int8, without a libm call
/// or a float-to-int conversion, so the loop vectorizes. Every finite quotient
/// is within ±127.0001 (|x| <= max|x|). Non-finite quotients (only from blocks
/// of infinities or subnormals) give 0, as the reference's conversion does on x86.
@inline(__always)
private func roundedToInt8(_ value: Float) -> Int8 {
    // Adding 1.5 * 2^23 rounds to the nearest integer (ties to even) and leaves
    // that integer in the low mantissa bits of the sum.
    let magic: Float = 12_582_912
    let shifted = value + magic
    let error = (shifted - magic) - value  // exact; ±0.5 only at ties
    var quant = Int32(bitPattern: shifted.bitPattern) &- 0x4B40_0000
    // Ties went to even; move the ones that went toward zero away from it.
    quant &+= error == -0.5 && value > 0 ? 1 : 0
    quant &-= error == 0.5 && value < 0 ? 1 : 0
    return value.magnitude < 128 ? Int8(truncatingIfNeeded: quant) : 0
}

/// Converts a `rows` × `columns` tensor of `type` (rows contiguous, as in the
/// file) into Q8_0 blocks at `destination` (rows × columns / 32 × 34 bytes).
/// Q8_0 input is copied unchanged; other types are decoded to float per row
/// and re-quantized. Errors: .invalidArgument if `columns` is not a positive
/// multiple of 32 or `rows` is negative.
public func convertToQ8_0(type: GGMLType, source: UnsafeRawPointer, rows: Int, columns: Int,
                          into destination: UnsafeMutableRawPointer) throws(SwiftletError) {
    guard columns > 0, columns % 32 == 0, rows >= 0 else {
        throw .invalidArgument("convertToQ8_0 needs a positive multiple of 32 columns and rows >= 0, got \(rows) × \(columns)")
    }
    guard let sourceRowBytes = type.byteCount(elements: columns) else {
        throw .invalidArgument("convertToQ8_0: \(columns) columns do not fit \(type.name) blocks")
    }
    guard type == .q8_0 || canDequantize(type) else {
        throw .unsupported("convertToQ8_0: \(type.name) blocks are not decoded yet")
    }
    let outputRowBytes = WeightFormat.q8_0.rowByteCount(columns: columns)
    if type == .q8_0 {
        destination.copyMemory(from: source, byteCount: rows * outputRowBytes)
        return
    }
    let row = UnsafeMutablePointer<Float>.allocate(capacity: columns)
    defer { row.deallocate() }
    for rowIndex in 0..<rows {
        dequantizeRow(type: type, source: source + rowIndex * sourceRowBytes, into: row, count: columns)
        quantizeRowQ8_0(source: row, into: destination + rowIndex * outputRowBytes, count: columns)
    }
}

/// The IEEE half at `pointer` (little-endian), widened to Float.
@inline(__always)
private func loadHalf(_ pointer: UnsafeRawPointer) -> Float {
    halfToFloat(UInt16(littleEndian: pointer.loadUnaligned(as: UInt16.self)))
}

/// Exact IEEE half to float by bit manipulation: without F16C in the baseline
/// x86-64 target, Float(Float16) is a runtime library call per value.
@inline(__always)
func halfToFloat(_ half: UInt16) -> Float {
    let sign = UInt32(half & 0x8000) << 16
    let exponent = UInt32(half >> 10) & 0x1F
    let mantissa = UInt32(half & 0x3FF)
    if exponent == 0x1F {  // infinity or NaN (payload kept)
        return Float(bitPattern: sign | 0x7F80_0000 | mantissa << 13)
    }
    if exponent == 0 {  // zero or subnormal: mantissa × 2^-24, exact in Float
        let magnitude = Float(mantissa) * (1.0 / 16_777_216.0)
        return sign != 0 ? -magnitude : magnitude
    }
    return Float(bitPattern: sign | (exponent + 112) << 23 | mantissa << 13)
}

/// IEEE float to half, rounding to nearest even (what F16C and ggml do), by
/// bit manipulation for the same reason as halfToFloat. NaN becomes the quiet
/// NaN 0x7E00 (with the sign).
@inline(__always)
func floatToHalf(_ value: Float) -> UInt16 {
    let bits = value.bitPattern
    let sign = UInt16(truncatingIfNeeded: (bits >> 16) & 0x8000)
    let magnitude = bits & 0x7FFF_FFFF
    if magnitude >= 0x4780_0000 {  // >= 2^16: infinity, or NaN
        return sign | (magnitude > 0x7F80_0000 ? 0x7E00 : 0x7C00)
    }
    if magnitude < 0x3880_0000 {  // below 2^-14: half subnormal or zero
        // Adding 0.5 puts the value's 2^-24 multiples in the low mantissa bits,
        // rounded to nearest even by the FPU.
        let shifted = Float(bitPattern: magnitude) + 0.5
        return sign | UInt16(truncatingIfNeeded: shifted.bitPattern &- 0x3F00_0000)
    }
    // Normal: rebias the exponent and round the 13 dropped bits to nearest even;
    // a carry may run into the exponent, which is right (up to infinity).
    let odd = (magnitude >> 13) & 1
    let rounded = magnitude &+ 0xC800_0FFF &+ odd  // (15 - 127) << 23 == 0xC8000000
    return sign | UInt16(truncatingIfNeeded: rounded >> 13)
}
