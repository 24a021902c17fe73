import Glibc
#if arch(x86_64)
import SwiftletKernelsAVX2
#endif

// fp32 building blocks of the forward pass: norms, RoPE, activations. Each is
// a few lines. (Attention's loops are in AttentionKernels.) SIMD8 keeps eight
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

/// Rotates adjacent pairs (x[2i], x[2i+1]) of each `headDimension` slice by
/// the angles whose cos/sin are in `rotation` (ggml's normal llama RoPE mode).
func applyRotary(_ x: UnsafeMutablePointer<Float>, heads: Int, headDimension: Int,
                 rotation: UnsafePointer<Float>) {
    let pairs = headDimension / 2
    for head in 0..<heads {
        let v = x + head * headDimension
        for i in 0..<pairs {
            let cosine = rotation[2 * i], sine = rotation[2 * i + 1]
            let x0 = v[2 * i], x1 = v[2 * i + 1]
            v[2 * i] = x0 * cosine - x1 * sine
            v[2 * i + 1] = x0 * sine + x1 * cosine
        }
    }
}

/// gate[i] = silu(gate[i]) · up[i] — SwiGLU, in place.
func swiGLU(_ gate: UnsafeMutablePointer<Float>, _ up: UnsafePointer<Float>, count: Int) {
    #if arch(x86_64)
    if CPUFeatures.hasAVX2 { return avx2SwiGLU(gate, up, count: count) }
    #endif
    for i in 0..<count {
        let g = gate[i]
        gate[i] = g / (1 + expf(-g)) * up[i]
    }
}

/// In-place softmax of x[0..<count].
func softmax(_ x: UnsafeMutablePointer<Float>, count: Int) {
    #if arch(x86_64)
    if CPUFeatures.hasAVX2 { return avx2Softmax(x, count: count) }
    #endif
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
