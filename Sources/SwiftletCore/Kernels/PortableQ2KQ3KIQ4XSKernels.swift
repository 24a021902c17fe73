// The portable products of Q2_K, Q3_K and IQ4_XS weights (BlockLayouts) with
// Q8_K-shaped activations (SuperBlockActivationLayout): plain loops the
// compiler vectorizes for baseline x86-64. Per super-block, every product of
// integer quants and integer sub-block scales is summed exactly in Int32 and
// only that sum is scaled by d (and dmin) and the activation scale, as
// llama.cpp's vec_dot does and as the AVX2 twins do up to float summation order.

/// Q2_K: value = d·scale·q − dmin·min per 16-value sub-block, so a super-block
/// gives d_x·(d·Σ_j scale_j·Σ q·x − dmin·Σ_j min_j·Σ x), the Σ x from the activation sums.
func portableQ2_KMatrixProduct(
    weights: UnsafeRawPointer, rowByteCount: Int, blocksPerRow: Int, rows: Range<Int>,
    activations: UnsafePointer<Int8>, activationScales: UnsafePointer<Float>, activationSums: UnsafePointer<Int16>,
    tokens: Int, output: UnsafeMutablePointer<Float>, outputStride: Int
) {
    let blockBytes = WeightFormat.q2_K.bytesPerBlock
    forEachSuperBlockProduct(rowByteCount: rowByteCount, blocksPerRow: blocksPerRow, rows: rows, tokens: tokens,
                             output: output, outputStride: outputStride) { row, token, block in
        let base = weights + row * rowByteCount + block * blockBytes
        let x = superBlockActivations(activations, activationSums, blocksPerRow, token, block)
        let (scaled, minimums) = q2_KBlockSums(base, x.values, x.sums)
        let d = Float(base.loadUnaligned(fromByteOffset: Q2_KLayout.d, as: Float16.self))
        let dmin = Float(base.loadUnaligned(fromByteOffset: Q2_KLayout.dmin, as: Float16.self))
        return activationScales[token * blocksPerRow + block] * (d * Float(scaled) - dmin * Float(minimums))
    }
}

/// Q3_K: value = d·(scale − 32)·(q − 4) with q = low two bits + 4·hmask bit
/// (0…7), per 16-value sub-block. The −4 is taken from the activation sums.
func portableQ3_KMatrixProduct(
    weights: UnsafeRawPointer, rowByteCount: Int, blocksPerRow: Int, rows: Range<Int>,
    activations: UnsafePointer<Int8>, activationScales: UnsafePointer<Float>, activationSums: UnsafePointer<Int16>,
    tokens: Int, output: UnsafeMutablePointer<Float>, outputStride: Int
) {
    let blockBytes = WeightFormat.q3_K.bytesPerBlock
    forEachSuperBlockProduct(rowByteCount: rowByteCount, blocksPerRow: blocksPerRow, rows: rows, tokens: tokens,
                             output: output, outputStride: outputStride) { row, token, block in
        let base = weights + row * rowByteCount + block * blockBytes
        let x = superBlockActivations(activations, activationSums, blocksPerRow, token, block)
        let d = Float(base.loadUnaligned(fromByteOffset: Q3_KLayout.d, as: Float16.self))
        return activationScales[token * blocksPerRow + block] * d * Float(q3_KBlockSum(base, x.values, x.sums))
    }
}

/// IQ4_XS: value = d·(scale − 32)·iq4NonLinearLevels[q] per 32-value sub-block.
func portableIQ4_XSMatrixProduct(
    weights: UnsafeRawPointer, rowByteCount: Int, blocksPerRow: Int, rows: Range<Int>,
    activations: UnsafePointer<Int8>, activationScales: UnsafePointer<Float>, activationSums: UnsafePointer<Int16>,
    tokens: Int, output: UnsafeMutablePointer<Float>, outputStride: Int
) {
    let blockBytes = WeightFormat.iq4_xs.bytesPerBlock
    forEachSuperBlockProduct(rowByteCount: rowByteCount, blocksPerRow: blocksPerRow, rows: rows, tokens: tokens,
                             output: output, outputStride: outputStride) { row, token, block in
        let base = weights + row * rowByteCount + block * blockBytes
        let x = superBlockActivations(activations, activationSums, blocksPerRow, token, block)
        let d = Float(base.loadUnaligned(fromByteOffset: IQ4_XSLayout.d, as: Float16.self))
        return activationScales[token * blocksPerRow + block] * d * Float(iq4_XSBlockSum(base, x.values))
    }
}

/// Q2_K's and Q3_K's 2-bit values: value 16·sub + l (l < 16) of a super-block
/// is bits 2·shift… of byte 32·half + 16·part + l of the value bytes, where
/// sub = 8·half + 2·shift + part (BlockDecoding's decodeQ2_KBlock).
@inline(__always)
private func twoBitPosition(_ sub: Int) -> (byteOffset: Int, shift: UInt8) {
    let half = sub / 8, shift = (sub % 8) / 2, part = sub % 2
    return (32 * half + 16 * part, UInt8(2 * shift))
}

/// Σ_j scale_j·Σ q·x and Σ_j min_j·(Σ x over sub-block j) of one Q2_K super-block.
/// Bounds: |scaled| ≤ 256·15·3·127 < 2^21, |minimums| ≤ 16·15·2032 < 2^19.
@inline(__always)
private func q2_KBlockSums(_ block: UnsafeRawPointer, _ x: UnsafePointer<Int8>, _ xSums: UnsafePointer<Int16>)
    -> (scaled: Int32, minimums: Int32) {
    let bits = (block + Q2_KLayout.values).assumingMemoryBound(to: UInt8.self)
    var scaled: Int32 = 0, minimums: Int32 = 0
    for sub in 0..<16 {
        let packed = block.load(fromByteOffset: Q2_KLayout.scales + sub, as: UInt8.self)
        let (byteOffset, shift) = twoBitPosition(sub)
        let q = bits + byteOffset, a = x + 16 * sub
        // In Int16, which SSE2 multiplies 8 at a time: |Σ| ≤ 16·3·127 < 2^15.
        var dot: Int16 = 0
        for l in 0..<16 { dot &+= Int16((q[l] >> shift) & 3) &* Int16(a[l]) }
        scaled &+= Int32(packed & 0x0F) &* Int32(dot)
        minimums &+= Int32(packed >> 4) &* Int32(xSums[sub])
    }
    return (scaled, minimums)
}

/// Σ_j (scale_j − 32)·Σ (q − 4)·x of one Q3_K super-block, q = low bits + 4·hmask bit.
/// Bound: |(q − 4)·x| ≤ 4·127 and |scale − 32| ≤ 32, so |sum| ≤ 256·32·4·127 < 2^23.
@inline(__always)
private func q3_KBlockSum(_ block: UnsafeRawPointer, _ x: UnsafePointer<Int8>, _ xSums: UnsafePointer<Int16>) -> Int32 {
    let lowBits = (block + Q3_KLayout.values).assumingMemoryBound(to: UInt8.self)
    let highBits = (block + Q3_KLayout.highBits).assumingMemoryBound(to: UInt8.self)
    var sum: Int32 = 0
    for sub in 0..<16 {
        let (byteOffset, shift) = twoBitPosition(sub)
        // The hmask bit of value l of sub-block `sub` is bit 4·half + shift/2 of byte 16·part + l.
        let highShift = UInt8(4 * (sub / 8)) + shift / 2
        let q = lowBits + byteOffset, h = highBits + byteOffset % 32, a = x + 16 * sub
        // In Int16, which SSE2 multiplies 8 at a time: |Σ q·x| ≤ 16·7·127 < 2^15.
        var dot: Int16 = 0
        for l in 0..<16 {
            let value = (q[l] >> shift) & 3 | ((h[l] >> highShift) & 1) << 2
            dot &+= Int16(value) &* Int16(a[l])
        }
        sum &+= q3_KScale(block, sub) &* (Int32(dot) &- 4 &* Int32(xSums[sub]))
    }
    return sum
}

/// Q3_K's sub-block scale − 32 (−32…31): the low nibble from byte sub % 8 of
/// the scales (low half for sub < 8, high half otherwise), the top two bits
/// from bits 2·(sub / 4)… of byte 8 + sub % 4.
@inline(__always)
private func q3_KScale(_ block: UnsafeRawPointer, _ sub: Int) -> Int32 {
    let packed = block.load(fromByteOffset: Q3_KLayout.scales + sub % 8, as: UInt8.self)
    let low = sub < 8 ? packed & 0x0F : packed >> 4
    let high = (block.load(fromByteOffset: Q3_KLayout.scales + 8 + sub % 4, as: UInt8.self) >> UInt8(2 * (sub / 4))) & 3
    return Int32(low | high << 4) - 32
}

/// Σ_j (scale_j − 32)·Σ level(q)·x of one IQ4_XS super-block.
/// Bound: |level·x| ≤ 127·127 and |scale − 32| ≤ 32, so |sum| ≤ 256·32·127² < 2^28.
@inline(__always)
private func iq4_XSBlockSum(_ block: UnsafeRawPointer, _ x: UnsafePointer<Int8>) -> Int32 {
    let nibbles = (block + IQ4_XSLayout.nibbles).assumingMemoryBound(to: UInt8.self)
    let scalesHigh = block.loadUnaligned(fromByteOffset: IQ4_XSLayout.scalesHigh, as: UInt16.self)
    // The levels as 16 bytes in memory: indexing a SIMD16 element by element is far slower.
    return withUnsafeBytes(of: iq4NonLinearLevels) { levelBytes in
        let levels = levelBytes.assumingMemoryBound(to: Int8.self)
        var sum: Int32 = 0
        for sub in 0..<8 {
            // Sub-block s: low nibble s % 2 of scales_l byte s / 2, top bits 2s… of scales_h.
            let low = (block.load(fromByteOffset: IQ4_XSLayout.scalesLow + sub / 2, as: UInt8.self) >> UInt8(4 * (sub % 2))) & 0x0F
            let high = UInt8(truncatingIfNeeded: scalesHigh >> UInt16(2 * sub)) & 3
            // 16 bytes per 32 values: value j in the low nibble of byte j, value j + 16 in its high nibble.
            let q = nibbles + 16 * sub, a = x + 32 * sub
            var dot: Int32 = 0
            for j in 0..<16 {
                dot &+= Int32(levels[Int(q[j] & 0x0F)]) &* Int32(a[j]) &+ Int32(levels[Int(q[j] >> 4)]) &* Int32(a[j + 16])
            }
            sum &+= (Int32(low | high << 4) - 32) &* dot
        }
        return sum
    }
}
