/// Decoders for the ggml block types beyond Q8_0/Q4_x (whose decoders are in
/// TensorConversion.swift): Q5_0, Q5_1, the k-quants Q2_K…Q6_K and
/// IQ4_NL/IQ4_XS, for the embedding lookup, the sgemm path and conversions.
/// The kernels compute on the blocks directly (RowProducts.swift).
/// Each function decodes one block at `block` into `output` (32 or 256
/// floats, GGMLType.blockSize) with the float operations of ggml's reference
/// dequantize_row_* in the same order (fp16 scales widened to float first,
/// then multiply, then add or subtract as separate roundings), so the result
/// is bit for bit ggml's. (Every product here is exact in Float: an fp16
/// significand of 11 bits times sub-block scale times quant stays within 24
/// bits, so only the final add or subtract of Q5_1/Q2_K/Q4_K/Q5_K rounds;
/// Tests/python/test_quant_types.py checks every type against gguf.quants.)
/// Non-finite scales give non-finite values; nothing here traps. Byte loads
/// only: blocks are packed, with no alignment.
///
/// Layouts are given as byte offsets inside the block; "d" and "dmin" are
/// IEEE halves (little-endian). Inside a 256-value super-block the values
/// come in sub-blocks of 16 or 32 that share a sub-block scale (and min).

@inline(__always)
private func byte(_ block: UnsafeRawPointer, _ offset: Int) -> UInt8 {
    block.load(fromByteOffset: offset, as: UInt8.self)
}

@inline(__always)
private func half(_ block: UnsafeRawPointer, _ offset: Int) -> Float {
    halfToFloat(UInt16(byte(block, offset)) | UInt16(byte(block, offset + 1)) << 8)
}

@inline(__always)
private func uint32(_ block: UnsafeRawPointer, _ offset: Int) -> UInt32 {
    UInt32(byte(block, offset)) | UInt32(byte(block, offset + 1)) << 8
        | UInt32(byte(block, offset + 2)) << 16 | UInt32(byte(block, offset + 3)) << 24
}

// MARK: 32-value blocks

/// Q5_0, 22 bytes: d (0), qh (2..<6, a little-endian uint32 holding bit 4 of
/// each of the 32 values), qs (6..<22, low nibbles: value j in the low nibble
/// of byte j, value j + 16 in its high nibble). value = d × (q − 16).
func decodeQ5_0Block(_ block: UnsafeRawPointer, into output: UnsafeMutablePointer<Float>) {
    let d = half(block, 0)
    let high = uint32(block, Q5_0Layout.fifthBits)
    for j in 0..<16 {
        let packed = byte(block, Q5_0Layout.nibbles + j)
        let low = Int32(packed & 0x0F) | Int32((high >> UInt32(j)) & 1) << 4
        let upper = Int32(packed >> 4) | Int32((high >> UInt32(j + 16)) & 1) << 4
        output[j] = Float(low - 16) * d
        output[j + 16] = Float(upper - 16) * d
    }
}

/// Q5_1, 24 bytes: d (0), m (2), qh (4..<8), qs (8..<24), bits as Q5_0 but
/// unsigned. value = d × q + m.
func decodeQ5_1Block(_ block: UnsafeRawPointer, into output: UnsafeMutablePointer<Float>) {
    let d = half(block, 0)
    let m = half(block, WeightFormat.minimumOffset)
    let high = uint32(block, Q5_1Layout.fifthBits)
    for j in 0..<16 {
        let packed = byte(block, Q5_1Layout.nibbles + j)
        let low = UInt32(packed & 0x0F) | ((high >> UInt32(j)) & 1) << 4
        let upper = UInt32(packed >> 4) | ((high >> UInt32(j + 16)) & 1) << 4
        let lowProduct = Float(low) * d
        let upperProduct = Float(upper) * d
        output[j] = lowProduct + m
        output[j + 16] = upperProduct + m
    }
}

/// Level `index` of IQ4_NL's and IQ4_XS's 16 (iq4NonLinearLevels, SwiftletWeightFormats).
@inline(__always)
private func iq4Level(_ index: UInt8) -> Float { Float(iq4NonLinearLevels[Int(index & 0x0F)]) }

/// IQ4_NL, 18 bytes: d (0), qs (2..<18) as Q4_0's nibbles, each an index into
/// the 16-entry table. value = d × table[q].
func decodeIQ4_NLBlock(_ block: UnsafeRawPointer, into output: UnsafeMutablePointer<Float>) {
    let d = half(block, 0)
    for j in 0..<16 {
        let packed = byte(block, WeightFormat.iq4_nl.valuesOffset + j)
        output[j] = d * iq4Level(packed & 0x0F)
        output[j + 16] = d * iq4Level(packed >> 4)
    }
}

// MARK: 256-value super-blocks

/// Q2_K, 84 bytes: scales (0..<16, one byte per 16 values: low nibble the
/// scale, high nibble the min), qs (16..<80, 2-bit values), d (80), dmin (82).
/// Each half of 128 values uses 32 bytes of qs: value 32·s + l of the half
/// (s = 0…3, l = 0…31) is bits 2s…2s+1 of byte l.
/// value = (d × scale) × q − (dmin × min).
func decodeQ2_KBlock(_ block: UnsafeRawPointer, into output: UnsafeMutablePointer<Float>) {
    let d = half(block, Q2_KLayout.d)
    let dmin = half(block, Q2_KLayout.dmin)
    for half128 in 0..<2 {
        for shift in 0..<4 {
            for part in 0..<2 {  // two 16-value sub-blocks per 32 values
                let sub = half128 * 8 + shift * 2 + part
                let packedScale = byte(block, sub)
                let scale = d * Float(packedScale & 0x0F)
                let minimum = dmin * Float(packedScale >> 4)
                let out = output + sub * 16
                for l in 0..<16 {
                    let q = (byte(block, Q2_KLayout.values + half128 * 32 + part * 16 + l) >> UInt8(2 * shift)) & 3
                    let product = scale * Float(q)
                    out[l] = product - minimum
                }
            }
        }
    }
}

/// Q3_K, 110 bytes: hmask (0..<32, bit 2 of each value: value i is bit i / 32
/// of byte i % 32, and a CLEAR bit means subtract 4), qs (32..<96, the low two
/// bits, placed as Q2_K's), scales (96..<108: sixteen 6-bit signed scales,
/// stored +32: the low nibbles of sub-blocks 0–7 in the low nibbles of bytes
/// 0–7 and of 8–15 in their high nibbles; the top two bits of sub-block s in
/// bits 2(s/4)… of byte 8 + s % 4), d (108). value = (d × (scale − 32)) × q.
func decodeQ3_KBlock(_ block: UnsafeRawPointer, into output: UnsafeMutablePointer<Float>) {
    let d = half(block, Q3_KLayout.d)
    for sub in 0..<16 {
        let low = sub < 8 ? byte(block, Q3_KLayout.scales + sub) & 0x0F : byte(block, Q3_KLayout.scales + sub - 8) >> 4
        let high = (byte(block, Q3_KLayout.scales + 8 + sub % 4) >> UInt8(2 * (sub / 4))) & 3
        let scale = d * Float(Int32(low | high << 4) - 32)
        let out = output + sub * 16
        // Sub-block `sub` covers values 16·sub…: half 128·(sub / 8), bit pair sub % 8 / 2.
        let half128 = sub / 8, shift = (sub % 8) / 2, part = sub % 2
        for l in 0..<16 {
            let index = part * 16 + l  // byte within the half's 32 bytes of qs (and hmask)
            let lowBits = Int32((byte(block, Q3_KLayout.values + half128 * 32 + index) >> UInt8(2 * shift)) & 3)
            let maskBit = (byte(block, Q3_KLayout.highBits + index) >> UInt8(half128 * 4 + shift)) & 1
            out[l] = scale * Float(lowBits - (maskBit != 0 ? 0 : 4))
        }
    }
}

/// The 6-bit scale and min of sub-block `j` (0…7) of Q4_K/Q5_K's 12 packed
/// bytes at `scales`: sub-blocks 0–3 keep theirs in the low 6 bits of bytes
/// j (scale) and j + 4 (min); sub-blocks 4–7 in the nibbles of byte j + 4
/// (scale low, min high), with the top two bits in bits 6–7 of bytes j − 4
/// (scale) and j (min).
@inline(__always)
private func kScaleMin(_ scales: UnsafeRawPointer, _ j: Int) -> (scale: UInt8, min: UInt8) {
    if j < 4 {
        return (byte(scales, j) & 63, byte(scales, j + 4) & 63)
    }
    let packed = byte(scales, j + 4)
    return ((packed & 0x0F) | (byte(scales, j - 4) >> 6) << 4, (packed >> 4) | (byte(scales, j) >> 6) << 4)
}

/// Q4_K, 144 bytes: d (0), dmin (2), scales (4..<16, see kScaleMin), qs
/// (16..<144): each 64 values use 32 bytes, the first 32 values in the low
/// nibbles and the next 32 in the high ones, with sub-blocks 2k and 2k + 1.
/// value = (d × scale) × q − (dmin × min).
func decodeQ4_KBlock(_ block: UnsafeRawPointer, into output: UnsafeMutablePointer<Float>) {
    decodeScaleMinBlock(block, nibblesOffset: Q4_KLayout.nibbles, fifthBitsOffset: nil, into: output)
}

/// Q5_K, 176 bytes: d (0), dmin (2), scales (4..<16) as Q4_K, qh (16..<48,
/// bit 4 of each value: value 32·s + l is bit s of byte l), qs (48..<176) as
/// Q4_K's. value = (d × scale) × q − (dmin × min).
func decodeQ5_KBlock(_ block: UnsafeRawPointer, into output: UnsafeMutablePointer<Float>) {
    decodeScaleMinBlock(block, nibblesOffset: Q5_KLayout.nibbles, fifthBitsOffset: Q5_KLayout.fifthBits, into: output)
}

/// Q4_K and Q5_K: the same super-block but for Q5_K's fifth bits (`fifthBitsOffset`).
@inline(__always)
private func decodeScaleMinBlock(_ block: UnsafeRawPointer, nibblesOffset: Int, fifthBitsOffset: Int?,
                                 into output: UnsafeMutablePointer<Float>) {
    let d = half(block, Q4_KLayout.d)
    let dmin = half(block, Q4_KLayout.dmin)
    for pair in 0..<4 {
        let (scaleA, minA) = kScaleMin(block + Q4_KLayout.scales, 2 * pair)
        let (scaleB, minB) = kScaleMin(block + Q4_KLayout.scales, 2 * pair + 1)
        let d1 = d * Float(scaleA), m1 = dmin * Float(minA)
        let d2 = d * Float(scaleB), m2 = dmin * Float(minB)
        let out = output + pair * 64
        for l in 0..<32 {
            let packed = byte(block, nibblesOffset + pair * 32 + l)
            var qLow = packed & 0x0F, qHigh = packed >> 4
            if let fifthBitsOffset {
                let fifthBits = byte(block, fifthBitsOffset + l)
                qLow |= ((fifthBits >> UInt8(2 * pair)) & 1) << 4
                qHigh |= ((fifthBits >> UInt8(2 * pair + 1)) & 1) << 4
            }
            let low = d1 * Float(qLow)
            let high = d2 * Float(qHigh)
            out[l] = low - m1
            out[l + 32] = high - m2
        }
    }
}

/// Q6_K, 210 bytes: ql (0..<128, low 4 bits), qh (128..<192, high 2 bits),
/// scales (192..<208, one int8 per 16 values), d (208). Each half of 128
/// values uses 64 bytes of ql and 32 of qh: value 32·s + l of the half
/// (s = 0…3, l = 0…31) takes the low nibble (s < 2) or high nibble (s ≥ 2)
/// of ql byte l + 32·(s % 2), and bits 2s…2s+1 of qh byte l; its scale is
/// scales[8·half + 2s + l / 16].
/// value = (d × scale) × (q − 32).
func decodeQ6_KBlock(_ block: UnsafeRawPointer, into output: UnsafeMutablePointer<Float>) {
    let d = half(block, Q6_KLayout.d)
    for half128 in 0..<2 {
        let ql = Q6_KLayout.lowBits + 64 * half128, qh = Q6_KLayout.highBits + 32 * half128
        for s in 0..<4 {
            let out = output + half128 * 128 + s * 32
            for l in 0..<32 {
                let scale = Float(Int8(bitPattern: byte(block, Q6_KLayout.scales + half128 * 8 + s * 2 + l / 16)))
                let lowByte = byte(block, ql + l + 32 * (s % 2))
                let low = s < 2 ? lowByte & 0x0F : lowByte >> 4
                let high = (byte(block, qh + l) >> UInt8(2 * s)) & 3
                let q = Int32(low | high << 4) - 32
                out[l] = d * scale * Float(q)
            }
        }
    }
}

/// IQ4_XS, 136 bytes: d (0), scales_h (2, a little-endian uint16 with the top
/// two bits of sub-block s's scale in bits 2s…2s+1), scales_l (4..<8, the low
/// nibble of sub-block s in nibble s % 2 of byte s / 2), qs (8..<136, 16 bytes
/// per 32 values as IQ4_NL). Scales are 6-bit, stored +32.
/// value = (d × (scale − 32)) × table[q].
func decodeIQ4_XSBlock(_ block: UnsafeRawPointer, into output: UnsafeMutablePointer<Float>) {
    let d = half(block, IQ4_XSLayout.d)
    let scalesHigh = UInt16(byte(block, IQ4_XSLayout.scalesHigh)) | UInt16(byte(block, IQ4_XSLayout.scalesHigh + 1)) << 8
    for sub in 0..<8 {
        let low = (byte(block, IQ4_XSLayout.scalesLow + sub / 2) >> UInt8(4 * (sub % 2))) & 0x0F
        let high = UInt8(truncatingIfNeeded: scalesHigh >> UInt16(2 * sub)) & 3
        let scale = d * Float(Int32(low | high << 4) - 32)
        let out = output + sub * 32
        for j in 0..<16 {
            let packed = byte(block, IQ4_XSLayout.nibbles + sub * 16 + j)
            out[j] = scale * iq4Level(packed & 0x0F)
            out[j + 16] = scale * iq4Level(packed >> 4)
        }
    }
}

/// Decodes `count / type.blockSize` whole blocks of one of the types above
/// with `decode`. A trailing partial block is ignored.
@inline(__always)
func decodeBlocks(_ type: GGMLType, source: UnsafeRawPointer, into destination: UnsafeMutablePointer<Float>,
                  count: Int, _ decode: (UnsafeRawPointer, UnsafeMutablePointer<Float>) -> Void) {
    let values = type.blockSize, bytes = type.bytesPerBlock
    for block in 0..<max(count, 0) / values {
        decode(source + block * bytes, destination + block * values)
    }
}
