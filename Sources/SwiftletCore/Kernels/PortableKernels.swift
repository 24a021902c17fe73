import Glibc

// The portable kernel set (KernelTable.portable): what runs on CPUs without
// AVX2, and under SWIFTLET_PORTABLE_KERNELS=1. Plain loops the compiler
// vectorizes for baseline x86-64; each computes what its AVX2 twin computes,
// up to summation order.

/// The Q8_0 product: plain loops the compiler vectorizes for the baseline ISA.
func portableQ8MatrixProduct(
    weights: UnsafeRawPointer, rowByteCount: Int, blocksPerRow: Int, rows: Range<Int>,
    activations: QuantizedActivations, tokens: Int, output: UnsafeMutablePointer<Float>, outputStride: Int
) {
    let layout = WeightFormat.q8_0, valuesPerBlock = WeightFormat.valuesPerBlock
    for row in rows {
        let rowBase = weights + row * rowByteCount
        for token in 0..<tokens {
            let x = activations.rowValues(token), xScales = activations.rowScales(token)
            var sum: Float = 0
            for block in 0..<blocksPerRow {
                let blockBase = rowBase + block * layout.bytesPerBlock
                let w = (blockBase + layout.valuesOffset).assumingMemoryBound(to: Int8.self)
                let a = x + block * valuesPerBlock
                var dot: Int32 = 0
                // 32 products of |values| ≤ 128 sum to at most 2^19: no overflow.
                for i in 0..<valuesPerBlock { dot &+= Int32(w[i]) &* Int32(a[i]) }
                sum += Float(blockBase.loadUnaligned(as: Float16.self)) * xScales[block] * Float(dot)
            }
            output[token * outputStride + row] = sum
        }
    }
}

/// The Q4_1 / Q4_0 product: the same sums as the AVX2 kernel.
func portableQ4MatrixProduct(
    weights: UnsafeRawPointer, rowByteCount: Int, blocksPerRow: Int, format: WeightFormat, rows: Range<Int>,
    activations: QuantizedActivations, tokens: Int, output: UnsafeMutablePointer<Float>, outputStride: Int
) {
    let hasMinimum = format == .q4_1
    for row in rows {
        let rowBase = weights + row * rowByteCount
        for token in 0..<tokens {
            let x = activations.rowValues(token)
            let xScales = activations.rowScales(token), xSums = activations.rowSums(token)
            var sum: Float = 0
            for block in 0..<blocksPerRow {
                let base = rowBase + block * format.bytesPerBlock
                let a = x + block * WeightFormat.valuesPerBlock
                var dot: Int32 = 0
                for i in 0..<16 {
                    let byte = base.load(fromByteOffset: format.valuesOffset + i, as: UInt8.self)
                    dot &+= Int32(byte & 0x0F) &* Int32(a[i]) &+ Int32(byte >> 4) &* Int32(a[i + 16])
                }
                let d = Float(base.loadUnaligned(as: Float16.self))
                let offset = hasMinimum
                    ? Float(base.loadUnaligned(fromByteOffset: WeightFormat.minimumOffset, as: Float16.self)) * xSums[block]
                    : -8 * d * xSums[block]
                sum += d * xScales[block] * Float(dot) + offset
            }
            output[token * outputStride + row] = sum
        }
    }
}

/// One row: the rounding is half away from zero, as C's `roundf` (but
/// without its library call on baseline x86-64: truncate, then step away from
/// zero when the dropped part is at least a half; exact since |x/d| ≤ 127).
func portableQuantizeRow(_ input: UnsafePointer<Float>, values: UnsafeMutablePointer<Int8>,
                         scales: UnsafeMutablePointer<Float>, sums: UnsafeMutablePointer<Float>, count: Int) {
    for block in 0..<(count / WeightFormat.valuesPerBlock) {
        let x = input + block * WeightFormat.valuesPerBlock
        var maxMagnitude: Float = 0
        for i in 0..<WeightFormat.valuesPerBlock { maxMagnitude = max(maxMagnitude, abs(x[i])) }
        let scale = maxMagnitude / 127
        let inverse: Float = scale != 0 ? 1 / scale : 0
        let q = values + block * WeightFormat.valuesPerBlock
        var sum: Int32 = 0
        for i in 0..<WeightFormat.valuesPerBlock {
            q[i] = Int8(roundedHalfAwayFromZero(x[i] * inverse))
            sum &+= Int32(q[i])  // |sum| ≤ 32 · 127
        }
        scales[block] = scale
        sums[block] = scale * Float(sum)
    }
}

/// One row of `count` floats (a multiple of 256) as ggml's Q8_K
/// (SuperBlockActivations): the scale from the first value of largest
/// magnitude (iscale = −127 / it, d = 1 / iscale), q = iscale·x rounded half
/// to even, clamped to ±127, and the int16 sums of each 16 values. A block of
/// zeros, or with an infinity, is all zeros with scale 0; NaN values count as 0.
func portableQuantizeSuperBlockRow(_ input: UnsafePointer<Float>, values: UnsafeMutablePointer<Int8>,
                                   scales: UnsafeMutablePointer<Float>, sums: UnsafeMutablePointer<Int16>,
                                   count: Int) {
    let blockLength = WeightFormat.valuesPerSuperBlock, sumsPerBlock = SuperBlockActivationLayout.sumsPerBlock
    for block in 0..<(count / blockLength) {
        let x = input + block * blockLength, q = values + block * blockLength
        let blockSums = sums + block * sumsPerBlock
        var magnitude: Float = 0
        for i in 0..<blockLength where abs(x[i]) > magnitude { magnitude = abs(x[i]) }  // NaN never is
        guard magnitude > 0, magnitude.isFinite else {
            q.initialize(repeating: 0, count: blockLength)
            blockSums.initialize(repeating: 0, count: sumsPerBlock)
            scales[block] = 0
            continue
        }
        var first = 0
        while abs(x[first]) != magnitude { first += 1 }
        let inverseScale = -127 / x[first]
        for i in 0..<blockLength {
            // Round half to even as ggml's nearest_int: adding 1.5·2^23 leaves the
            // rounded value in the low mantissa bits (|v| ≤ 127).
            let v = inverseScale * x[i]
            let clamped = v != v ? 0 : (v < -127 ? -127 : (v > 127 ? 127 : v))
            let bits = Int32(bitPattern: (clamped + 12_582_912).bitPattern & 0x7F_FFFF)
            q[i] = Int8(truncatingIfNeeded: bits &- 0x40_0000)
        }
        for j in 0..<sumsPerBlock {
            var sum: Int16 = 0  // |sum| ≤ 16 · 127
            for i in 0..<16 { sum &+= Int16(q[j * 16 + i]) }
            blockSums[j] = sum
        }
        scales[block] = 1 / inverseScale
    }
}

/// `v` (|v| ≤ 127 for finite activations) rounded, clamped to ±127. A NaN
/// or infinity (a broken model file) gives ±127 instead of trapping.
@inline(__always)
func roundedHalfAwayFromZero(_ v: Float) -> Int32 {
    guard v.magnitude < 127 else { return v > 0 ? 127 : -127 }
    let truncated = Int32(v)
    let dropped = v - Float(truncated)
    return dropped >= 0.5 ? truncated + 1 : (dropped <= -0.5 ? truncated - 1 : truncated)
}

/// scores[j] = scale · (query · keys[j]), j < positions, over fp16 keys.
func portableAttentionScores(_ query: UnsafePointer<Float>, _ keys: UnsafePointer<UInt16>, _ keyStride: Int,
                             _ positions: Int, _ dimension: Int, _ scale: Float, _ scores: UnsafeMutablePointer<Float>) {
    for j in 0..<positions {
        let key = keys + j * keyStride
        var sum: Float = 0
        for i in 0..<dimension { sum += query[i] * Float(Float16(bitPattern: key[i])) }
        scores[j] = sum * scale
    }
}

/// output = Σ_j weights[j] · values[j], j < positions, over fp16 values.
func portableAttentionMix(_ weights: UnsafePointer<Float>, _ values: UnsafePointer<UInt16>, _ valueStride: Int,
                          _ positions: Int, _ dimension: Int, _ output: UnsafeMutablePointer<Float>) {
    output.initialize(repeating: 0, count: dimension)
    for j in 0..<positions {
        let value = values + j * valueStride
        for i in 0..<dimension { output[i] += weights[j] * Float(Float16(bitPattern: value[i])) }
    }
}

/// destination[i] = fp16 bits of source[i] (round to nearest even).
func portableHalvesFromFloats(_ source: UnsafePointer<Float>, _ destination: UnsafeMutablePointer<UInt16>,
                              _ count: Int) {
    for i in 0..<count { destination[i] = Float16(source[i]).bitPattern }
}

/// `rows` rows of `columns` fp16 values, `sourceStride` apart, as dense fp32 rows.
func portableFloatsFromHalves(_ source: UnsafePointer<UInt16>, _ sourceStride: Int, _ rows: Int, _ columns: Int,
                              _ destination: UnsafeMutablePointer<Float>) {
    for row in 0..<rows {
        for i in 0..<columns {
            destination[row * columns + i] = Float(Float16(bitPattern: source[row * sourceStride + i]))
        }
    }
}

/// gate[i] = silu(gate[i]) · up[i] — SwiGLU, in place.
func portableSwiGLU(_ gate: UnsafeMutablePointer<Float>, _ up: UnsafePointer<Float>, _ count: Int) {
    for i in 0..<count {
        let g = gate[i]
        gate[i] = g / (1 + expf(-g)) * up[i]
    }
}

/// gate[i] = gelu(gate[i]) · up[i] — GeGLU, in place. GELU's tanh form
/// x/2 · (1 + tanh(u)), u = √(2/π)(x + 0.044715 x³), computed as the equal
/// x / (1 + e^(−2u)), the sigmoid SwiGLU uses too.
func portableGeGLU(_ gate: UnsafeMutablePointer<Float>, _ up: UnsafePointer<Float>, _ count: Int) {
    for i in 0..<count {
        let g = gate[i]
        let u = geluTanhArgument(g)
        gate[i] = g / (1 + expf(-2 * u)) * up[i]
    }
}

/// GELU in its exact form, x·Φ(x) = x/2 · (1 + erf(x/√2)), in place (BERT), with libm's erff.
func portableGeluErf(_ x: UnsafeMutablePointer<Float>, _ count: Int) {
    for i in 0..<count {
        let v = x[i]
        x[i] = 0.5 * v * (1 + erff(v * 0.707_106_781_186_547_5))
    }
}

/// In-place softmax of x[0..<count].
func portableSoftmax(_ x: UnsafeMutablePointer<Float>, _ count: Int) {
    var largest = -Float.infinity
    for i in 0..<count { largest = max(largest, x[i]) }
    var sum: Float = 0
    for i in 0..<count {
        x[i] = expf(x[i] - largest)
        sum += x[i]
    }
    let inverse = 1 / sum
    for i in 0..<count { x[i] *= inverse }
}
