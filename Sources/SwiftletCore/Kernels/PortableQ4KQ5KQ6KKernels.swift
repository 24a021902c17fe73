// The portable Q4_K, Q5_K and Q6_K products (KernelTable.portable): plain
// loops for baseline x86-64, computing what their AVX2 twins compute. Per
// super-block every integer product is summed exactly in Int32; only then do
// the fp16 scales and the activation scale enter, in float, as llama.cpp's
// ggml_vec_dot_q{4,5,6}_K_q8_K. Activations are Q8_K-shaped (SuperBlockActivationLayout).

/// output[t·outputStride + r] = weight row r · activation row t for every r in
/// `rows` and t < `tokens`, for Q4_K weights (value = d·scale·q − dmin·min).
/// `blocksPerRow` counts super-blocks.
func portableQ4_KMatrixProduct(
    weights: UnsafeRawPointer, rowByteCount: Int, blocksPerRow: Int, rows: Range<Int>,
    activations: UnsafePointer<Int8>, activationScales: UnsafePointer<Float>, activationSums: UnsafePointer<Int16>,
    tokens: Int, output: UnsafeMutablePointer<Float>, outputStride: Int
) {
    portableScaleMinMatrixProduct(
        hasFifthBits: false, weights: weights, rowByteCount: rowByteCount, blocksPerRow: blocksPerRow, rows: rows,
        activations: activations, activationScales: activationScales, activationSums: activationSums,
        tokens: tokens, output: output, outputStride: outputStride)
}

/// As portableQ4_KMatrixProduct, for Q5_K weights (Q4_K with a fifth bit per value).
func portableQ5_KMatrixProduct(
    weights: UnsafeRawPointer, rowByteCount: Int, blocksPerRow: Int, rows: Range<Int>,
    activations: UnsafePointer<Int8>, activationScales: UnsafePointer<Float>, activationSums: UnsafePointer<Int16>,
    tokens: Int, output: UnsafeMutablePointer<Float>, outputStride: Int
) {
    portableScaleMinMatrixProduct(
        hasFifthBits: true, weights: weights, rowByteCount: rowByteCount, blocksPerRow: blocksPerRow, rows: rows,
        activations: activations, activationScales: activationScales, activationSums: activationSums,
        tokens: tokens, output: output, outputStride: outputStride)
}

/// Q4_K and Q5_K: the same super-block but for Q5_K's fifth bits.
///
/// Overflow bounds: a 32-value sub-block's dot is at most 32·31·127 = 125,984;
/// times a 6-bit scale ≤ 63 over 8 sub-blocks, ≈ 63.5M. The mins: 8·63·4064 ≈ 2.05M.
@inline(__always)
private func portableScaleMinMatrixProduct(
    hasFifthBits: Bool, weights: UnsafeRawPointer, rowByteCount: Int, blocksPerRow: Int, rows: Range<Int>,
    activations: UnsafePointer<Int8>, activationScales: UnsafePointer<Float>, activationSums: UnsafePointer<Int16>,
    tokens: Int, output: UnsafeMutablePointer<Float>, outputStride: Int
) {
    let format: WeightFormat = hasFifthBits ? .q5_K : .q4_K
    let nibblesOffset = hasFifthBits ? Q5_KLayout.nibbles : Q4_KLayout.nibbles
    forEachSuperBlockProduct(rowByteCount: rowByteCount, blocksPerRow: blocksPerRow, rows: rows, tokens: tokens,
                             output: output, outputStride: outputStride) { row, token, block in
        let base = weights + row * rowByteCount + block * format.bytesPerBlock
        let nibbles = (base + nibblesOffset).assumingMemoryBound(to: UInt8.self)
        let fifthBits = (base + Q5_KLayout.fifthBits).assumingMemoryBound(to: UInt8.self)
        let (a, blockSums) = superBlockActivations(activations, activationSums, blocksPerRow, token, block)
        var scaled: Int32 = 0, minimums: Int32 = 0
        // Each 64 values: 32 bytes, sub-block 2p in the low nibbles, 2p + 1 in the high ones.
        for pair in 0..<4 {
            var lowDot: Int32 = 0, highDot: Int32 = 0
            for l in 0..<32 {
                let packed = nibbles[pair * 32 + l]
                var low = packed & 0x0F, high = packed >> 4
                if hasFifthBits {  // value l of sub-block s: bit s of fifth-bit byte l
                    low |= (fifthBits[l] >> UInt8(2 * pair)) << 4 & 0x10
                    high |= (fifthBits[l] >> UInt8(2 * pair + 1)) << 4 & 0x10
                }
                lowDot &+= Int32(low) &* Int32(a[pair * 64 + l])
                highDot &+= Int32(high) &* Int32(a[pair * 64 + 32 + l])
            }
            let (lowScale, lowMin) = scaleAndMin(base + Q4_KLayout.scales, 2 * pair)
            let (highScale, highMin) = scaleAndMin(base + Q4_KLayout.scales, 2 * pair + 1)
            scaled &+= lowScale &* lowDot &+ highScale &* highDot
            let lowSum = Int32(blockSums[4 * pair]) &+ Int32(blockSums[4 * pair + 1])
            let highSum = Int32(blockSums[4 * pair + 2]) &+ Int32(blockSums[4 * pair + 3])
            minimums &+= lowMin &* lowSum &+ highMin &* highSum
        }
        let d = Float(base.loadUnaligned(fromByteOffset: Q4_KLayout.d, as: Float16.self))
        let dmin = Float(base.loadUnaligned(fromByteOffset: Q4_KLayout.dmin, as: Float16.self))
        return activationScales[token * blocksPerRow + block] * (d * Float(scaled) - dmin * Float(minimums))
    }
}

/// The 6-bit scale and min of sub-block `j` (0…7) from Q4_K/Q5_K's 12 packed
/// bytes, as kScaleMin in BlockDecoding: sub-blocks 0–3 in the low 6 bits of
/// bytes j (scale) and j + 4 (min); 4–7 in the nibbles of byte j + 4 (scale
/// low, min high) with the top two bits in bits 6–7 of bytes j − 4 and j.
@inline(__always)
private func scaleAndMin(_ packed: UnsafeRawPointer, _ j: Int) -> (scale: Int32, min: Int32) {
    let bytes = packed.assumingMemoryBound(to: UInt8.self)
    if j < 4 {
        return (Int32(bytes[j] & 63), Int32(bytes[j + 4] & 63))
    }
    let nibbles = bytes[j + 4]
    return (Int32(nibbles & 0x0F | (bytes[j - 4] >> 6) << 4), Int32(nibbles >> 4 | (bytes[j] >> 6) << 4))
}

/// output[t·outputStride + r] = weight row r · activation row t for every r in
/// `rows` and t < `tokens`, for Q6_K weights (value = d·scale·(q − 32)).
/// `blocksPerRow` counts super-blocks; the activation sums are not needed,
/// the −32 is applied to each value.
///
/// Overflow bounds: |q − 32| ≤ 32, so a 16-value sub-block's dot is at most
/// 16·32·127 = 65,024; times |scale| ≤ 128 over 16 sub-blocks, ≈ 133M.
func portableQ6_KMatrixProduct(
    weights: UnsafeRawPointer, rowByteCount: Int, blocksPerRow: Int, rows: Range<Int>,
    activations: UnsafePointer<Int8>, activationScales: UnsafePointer<Float>, activationSums: UnsafePointer<Int16>,
    tokens: Int, output: UnsafeMutablePointer<Float>, outputStride: Int
) {
    let blockBytes = WeightFormat.q6_K.bytesPerBlock
    forEachSuperBlockProduct(rowByteCount: rowByteCount, blocksPerRow: blocksPerRow, rows: rows, tokens: tokens,
                             output: output, outputStride: outputStride) { row, token, block in
        let base = weights + row * rowByteCount + block * blockBytes
        let x = superBlockActivations(activations, activationSums, blocksPerRow, token, block).values
        let scales = (base + Q6_KLayout.scales).assumingMemoryBound(to: Int8.self)
        var scaled: Int32 = 0
        // Each 128 values: 64 bytes of low nibbles, 32 of high bit pairs; value
        // 32s + l takes nibble s / 2 of low byte l + 32·(s % 2) and bits 2s… of high byte l.
        for half in 0..<2 {
            let lowBits = (base + Q6_KLayout.lowBits + half * 64).assumingMemoryBound(to: UInt8.self)
            let highBits = (base + Q6_KLayout.highBits + half * 32).assumingMemoryBound(to: UInt8.self)
            for s in 0..<4 {
                let a = x + half * 128 + s * 32
                let lows = lowBits + 32 * (s % 2), nibbleShift = UInt8(4 * (s / 2)), highShift = UInt8(2 * s)
                for part in 0..<2 {  // 16 values per scale
                    var dot: Int32 = 0
                    for l in (part * 16)..<(part * 16 + 16) {
                        let q = (lows[l] >> nibbleShift) & 0x0F | ((highBits[l] >> highShift) & 3) << 4
                        dot &+= (Int32(q) &- 32) &* Int32(a[l])
                    }
                    scaled &+= Int32(scales[half * 8 + s * 2 + part]) &* dot
                }
            }
        }
        let d = Float(base.loadUnaligned(fromByteOffset: Q6_KLayout.d, as: Float16.self))
        return activationScales[token * blocksPerRow + block] * (d * Float(scaled))
    }
}
