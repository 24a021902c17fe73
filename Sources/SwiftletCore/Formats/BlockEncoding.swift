/// Round-to-nearest encoders of ggml's 4- and 5-bit 32-value blocks, bit for
/// bit as ggml's reference quantizers (quantize_row_q4_0_ref, _q4_1_ref,
/// _q5_0_ref, _q5_1_ref), which llama.cpp's quantizer uses without an
/// importance matrix. Every float operation is the reference's, in its order
/// and unfused: the scale d, its reciprocal id (0 when d is ±0), x·id (or
/// (x − min)·id) plus the offset, then a C conversion to an 8-bit integer
/// (truncation toward zero) clamped from above. d and min are stored as IEEE
/// halves rounded to nearest even.
///
/// Layouts (little-endian, `count` a multiple of 32, one block per 32 values):
///  - Q4_0 (18 bytes): d, qs[16]; value = d·(q − 8)
///  - Q4_1 (20 bytes): d, m, qs[16]; value = d·q + m
///  - Q5_0 (22 bytes): d, qh (UInt32), qs[16]; value = d·(q − 16)
///  - Q5_1 (24 bytes): d, m, qh, qs[16]; value = d·q + m
/// qs byte j holds value j's low 4 bits in its low half and value j + 16's in
/// its high half; bit i of qh is value i's fifth bit.
///
/// Finite and infinite inputs give the reference's bytes as built for x86-64,
/// where converting a non-finite or out-of-range float to an integer yields
/// 0x80000000 (so 0 in the low byte); NaN inputs give unspecified blocks.

/// Quantizes `count` floats to `type` blocks at `destination`; returns false
/// (writing nothing) if `type` is not one of Q8_0, Q4_0, Q4_1, Q5_0, Q5_1.
@discardableResult
public func quantizeRow(type: GGMLType, source: UnsafePointer<Float>, into destination: UnsafeMutableRawPointer,
                        count: Int) -> Bool {
    switch type {
    case .q8_0: quantizeRowQ8_0(source: source, into: destination, count: count)
    case .q4_0: quantizeRowQ4_0(source: source, into: destination, count: count)
    case .q4_1: quantizeRowQ4_1(source: source, into: destination, count: count)
    case .q5_0: quantizeRowQ5_0(source: source, into: destination, count: count)
    case .q5_1: quantizeRowQ5_1(source: source, into: destination, count: count)
    default: return false
    }
    return true
}

/// Q4_0: d = v / −8 for the value v of largest magnitude (the first one on a
/// tie), q = min(15, trunc(x·id + 8.5)).
public func quantizeRowQ4_0(source: UnsafePointer<Float>, into destination: UnsafeMutableRawPointer, count: Int) {
    let blockBytes = GGMLType.q4_0.bytesPerBlock
    for block in 0..<max(count, 0) / 32 {
        let input = source + block * 32
        let output = destination + block * blockBytes
        let scale = largestMagnitudeValue(input) / -8
        let inverse: Float = scale != 0 ? 1 / scale : 0
        storeHalf(scale, output)
        for j in 0..<16 {
            let low = clampedCode(input[j] * inverse + 8.5, maximum: 15)
            let high = clampedCode(input[j + 16] * inverse + 8.5, maximum: 15)
            output.storeBytes(of: low | high &<< 4, toByteOffset: 2 + j, as: UInt8.self)
        }
    }
}

/// Q4_1: d = (max − min) / 15, m = min, q = min(15, trunc((x − min)·id + 0.5)).
public func quantizeRowQ4_1(source: UnsafePointer<Float>, into destination: UnsafeMutableRawPointer, count: Int) {
    let blockBytes = GGMLType.q4_1.bytesPerBlock
    for block in 0..<max(count, 0) / 32 {
        let input = source + block * 32
        let output = destination + block * blockBytes
        let (minimum, maximum) = valueRange(input)
        let scale = (maximum - minimum) / 15
        let inverse: Float = scale != 0 ? 1 / scale : 0
        storeHalf(scale, output)
        storeHalf(minimum, output + 2)
        for j in 0..<16 {
            let low = clampedCode((input[j] - minimum) * inverse + 0.5, maximum: 15)
            let high = clampedCode((input[j + 16] - minimum) * inverse + 0.5, maximum: 15)
            output.storeBytes(of: low | high &<< 4, toByteOffset: 4 + j, as: UInt8.self)
        }
    }
}

/// Q5_0: d = v / −16 for the value v of largest magnitude (the first one on a
/// tie), q = min(31, trunc(x·id + 16.5)).
public func quantizeRowQ5_0(source: UnsafePointer<Float>, into destination: UnsafeMutableRawPointer, count: Int) {
    let blockBytes = GGMLType.q5_0.bytesPerBlock
    for block in 0..<max(count, 0) / 32 {
        let input = source + block * 32
        let output = destination + block * blockBytes
        let scale = largestMagnitudeValue(input) / -16
        let inverse: Float = scale != 0 ? 1 / scale : 0
        storeHalf(scale, output)
        var codes: (UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0)
        withUnsafeMutableBytes(of: &codes) { codeBytes in
            for index in 0..<32 {
                codeBytes[index] = clampedCode(input[index] * inverse + 16.5, maximum: 31)
            }
            storeFiveBitCodes(codeBytes, output + 2)
        }
    }
}

/// Q5_1: d = (max − min) / 31, m = min, q = trunc((x − min)·id + 0.5), with
/// no clamp (the reference has none; the code cannot exceed 31 anyway).
public func quantizeRowQ5_1(source: UnsafePointer<Float>, into destination: UnsafeMutableRawPointer, count: Int) {
    let blockBytes = GGMLType.q5_1.bytesPerBlock
    for block in 0..<max(count, 0) / 32 {
        let input = source + block * 32
        let output = destination + block * blockBytes
        let (minimum, maximum) = valueRange(input)
        let scale = (maximum - minimum) / 31
        let inverse: Float = scale != 0 ? 1 / scale : 0
        storeHalf(scale, output)
        storeHalf(minimum, output + 2)
        var codes: (UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0)
        withUnsafeMutableBytes(of: &codes) { codeBytes in
            for index in 0..<32 {
                codeBytes[index] = UInt8(bitPattern: truncatedToInt8(((input[index] - minimum) * inverse + 0.5)))
            }
            storeFiveBitCodes(codeBytes, output + 4)
        }
    }
}

// MARK: - The reference's steps

/// The block's value of largest magnitude, the first one if several tie, 0 for
/// a block of zeros: the reference's `if (amax < fabsf(v))` scan.
@inline(__always)
private func largestMagnitudeValue(_ input: UnsafePointer<Float>) -> Float {
    var largestMagnitude: Float = 0
    var value: Float = 0
    for index in 0..<32 where largestMagnitude < input[index].magnitude {
        largestMagnitude = input[index].magnitude
        value = input[index]
    }
    return value
}

/// The block's (min, max), scanned from ±FLT_MAX with strict comparisons as
/// the reference does (a block of +infinities keeps min = FLT_MAX).
@inline(__always)
private func valueRange(_ input: UnsafePointer<Float>) -> (minimum: Float, maximum: Float) {
    var minimum = Float.greatestFiniteMagnitude
    var maximum = -Float.greatestFiniteMagnitude
    for index in 0..<32 {
        let value = input[index]
        if value < minimum { minimum = value }
        if value > maximum { maximum = value }
    }
    return (minimum, maximum)
}

/// C's `(int8_t)value` as x86-64 compilers emit it: truncate toward zero to a
/// 32-bit integer (0x80000000 for NaN, infinities and values beyond ±2^31)
/// and keep the low byte.
@inline(__always)
private func truncatedToInt8(_ value: Float) -> Int8 {
    let inRange = value >= -2_147_483_648 && value < 2_147_483_648
    return Int8(truncatingIfNeeded: inRange ? Int32(value) : Int32.min)
}

/// `(uint8_t)MIN(maximum, (int8_t)value)`: the comparison is on the signed
/// byte, the result wraps into an unsigned one.
@inline(__always)
private func clampedCode(_ value: Float, maximum: Int8) -> UInt8 {
    UInt8(bitPattern: Swift.min(maximum, truncatedToInt8(value)))
}

/// Stores 32 five-bit codes as qh (the fifth bits, value i at bit i, as a
/// little-endian UInt32) followed by the 16 bytes of low nibbles qs.
@inline(__always)
private func storeFiveBitCodes(_ codes: UnsafeMutableRawBufferPointer, _ output: UnsafeMutableRawPointer) {
    var fifthBits: UInt32 = 0
    for j in 0..<16 {
        let low = codes[j], high = codes[j + 16]
        output.storeBytes(of: (low & 0x0F) | (high & 0x0F) &<< 4, toByteOffset: 4 + j, as: UInt8.self)
        fifthBits |= UInt32((low & 0x10) >> 4) << j
        fifthBits |= UInt32((high & 0x10) >> 4) << (j + 16)
    }
    output.storeBytes(of: fifthBits.littleEndian, as: UInt32.self)
}

@inline(__always)
private func storeHalf(_ value: Float, _ pointer: UnsafeMutableRawPointer) {
    pointer.storeBytes(of: floatToHalf(value).littleEndian, as: UInt16.self)
}
