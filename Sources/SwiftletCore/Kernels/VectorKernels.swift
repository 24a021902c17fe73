import Glibc

// fp32 building blocks of the forward pass: norms, RoPE, activations. Each is
// a few lines. (Those with CPU-specific variants are in KernelTable.) SIMD8 keeps eight
// independent accumulators so the reductions vectorize without fast-math.
// (Multiply then add, not addProduct: this module targets baseline x86-64,
// where a fused multiply-add is a call into libm per element.)

/// Σ a[i]·b[i].
@inline(__always)
func dot(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ count: Int) -> Float {
    var accumulator = SIMD8<Float>()
    var i = 0
    while i + 8 <= count {
        let x = UnsafeRawPointer(a + i).loadUnaligned(as: SIMD8<Float>.self)
        let y = UnsafeRawPointer(b + i).loadUnaligned(as: SIMD8<Float>.self)
        accumulator += x * y
        i += 8
    }
    var sum = accumulator.sum()
    while i < count { sum += a[i] * b[i]; i += 1 }
    return sum
}

/// out = x / sqrt(mean(x²) + ε) ⊙ weight (RMSNorm).
func rmsNorm(_ x: UnsafePointer<Float>, weight: UnsafePointer<Float>, epsilon: Float,
             into out: UnsafeMutablePointer<Float>, count: Int) {
    let meanSquare = dot(x, x, count) / Float(count)
    let scale = 1 / (meanSquare + epsilon).squareRoot()
    for i in 0..<count { out[i] = x[i] * scale * weight[i] }
}

/// out = (x - mean) / sqrt(variance + ε) ⊙ weight + bias (LayerNorm, as
/// GPT-2 and BERT use it; `bias` nil for none).
func layerNorm(_ x: UnsafePointer<Float>, weight: UnsafePointer<Float>, bias: UnsafePointer<Float>?, epsilon: Float,
               into out: UnsafeMutablePointer<Float>, count: Int) {
    var sum: Float = 0
    for i in 0..<count { sum += x[i] }
    let mean = sum / Float(count)
    // Two passes (centre, then square): the one-pass E[x²] - mean² loses
    // digits when |mean| is large against the spread.
    var squares: Float = 0
    for i in 0..<count { squares += (x[i] - mean) * (x[i] - mean) }
    let scale = 1 / (squares / Float(count) + epsilon).squareRoot()
    for i in 0..<count { out[i] = (x[i] - mean) * scale * weight[i] }
    if let bias { for i in 0..<count { out[i] += bias[i] } }
}

/// How RoPE pairs the values of a head: ggml's "normal" mode rotates
/// (x[2i], x[2i+1]) (llama); NEOX mode rotates (x[i], x[i + d/2]) (GPT-NeoX,
/// Qwen2, Gemma). Pair i turns by the same angle either way.
public enum RotaryPairing: Sendable, Equatable {
    case adjacent, halves
}

/// Rotates the pairs of each `headDimension` slice by the angles whose
/// cos/sin are in `rotation` (cos, sin of pair i at 2i, 2i+1).
func applyRotary(_ x: UnsafeMutablePointer<Float>, heads: Int, headDimension: Int,
                 rotation: UnsafePointer<Float>, pairing: RotaryPairing) {
    let pairs = headDimension / 2
    // The second value of pair i sits `step` after the first, `stride` apart from pair to pair.
    let (stride, step) = pairing == .adjacent ? (2, 1) : (1, pairs)
    for head in 0..<heads {
        let v = x + head * headDimension
        for i in 0..<pairs {
            let cosine = rotation[2 * i], sine = rotation[2 * i + 1]
            let first = i * stride, second = first + step
            let x0 = v[first], x1 = v[second]
            v[first] = x0 * cosine - x1 * sine
            v[second] = x0 * sine + x1 * cosine
        }
    }
}

/// x[i] = gelu(x[i]) in the tanh form GPT-2 was trained with (and ggml
/// computes): x/2 · (1 + tanh(√(2/π) · (x + 0.044715 x³))).
func gelu(_ x: UnsafeMutablePointer<Float>, count: Int) {
    for i in 0..<count {
        let v = x[i]
        x[i] = 0.5 * v * (1 + tanhf(geluTanhArgument(v)))
    }
}

/// u = √(2/π) · (x + 0.044715 x³), the argument of tanh in GELU's tanh form.
@inline(__always)
func geluTanhArgument(_ x: Float) -> Float { 0.797_884_560_802_865_4 * (x + 0.044_715 * x * x * x) }

/// Adds `bias` to each of `rows` rows of `columns` values.
func addBias(_ bias: UnsafePointer<Float>, to x: UnsafeMutablePointer<Float>, rows: Int, columns: Int) {
    for row in 0..<rows {
        let r = x + row * columns
        for i in 0..<columns { r[i] += bias[i] }
    }
}
