// Kernels for x86-64 with AVX2 + FMA + F16C. This module is compiled with
// `-target-cpu haswell`; nothing in it may run before the engine has checked
// the CPU (KernelDispatch). Keep every function here free of callers other
// than the dispatch table.
#if arch(x86_64)
import _Builtin_intrinsics.intel

/// output[t * outputStride + r] = Σ_blocks d_w · d_x · Σ q_w · q_x for every
/// row r in `rows` and token t < `tokens`. Weights are Q8 blocks (fp16 scale +
/// 32 int8), activations int8 with one fp32 scale per 32 values.
/// Each weight row is loaded once and reused for every token while it is hot in L1.
public func avx2Q8MatrixProduct(
    weights: UnsafeRawPointer, rowByteCount: Int, blocksPerRow: Int, rows: Range<Int>,
    activations: UnsafePointer<Int8>, activationScales: UnsafePointer<Float>, tokens: Int,
    output: UnsafeMutablePointer<Float>, outputStride: Int
) {
    let columns = blocksPerRow &* 32
    for row in rows {
        let rowBase = weights + row &* rowByteCount
        var token = 0
        while token < tokens {
            output[token &* outputStride &+ row] = dotRow(
                rowBase, activations + token &* columns, activationScales + token &* blocksPerRow, blocksPerRow)
            token &+= 1
        }
    }
}

@inline(__always)
private func dotRow(_ row: UnsafeRawPointer, _ x: UnsafePointer<Int8>, _ xScales: UnsafePointer<Float>,
                    _ blocks: Int) -> Float {
    let ones = _mm256_set1_epi16(1)
    var sum = _mm256_setzero_ps()
    var block = 0
    while block < blocks {
        let blockBase = row + block &* 34
        let weightScale = Float(blockBase.loadUnaligned(as: Float16.self))
        let w = _mm256_loadu_si256((blockBase + 2).assumingMemoryBound(to: __m256i.self))
        let a = _mm256_loadu_si256(UnsafeRawPointer(x + block &* 32).assumingMemoryBound(to: __m256i.self))
        // maddubs multiplies unsigned by signed bytes: move w's sign onto a.
        // |w| ≤ 128 and |a| ≤ 127, so each pair sum ≤ 32512 fits in int16.
        let products = _mm256_maddubs_epi16(_mm256_sign_epi8(w, w), _mm256_sign_epi8(a, w))
        let sums = _mm256_cvtepi32_ps(_mm256_madd_epi16(products, ones))
        sum = _mm256_fmadd_ps(_mm256_set1_ps(weightScale * xScales[block]), sums, sum)
        block &+= 1
    }
    return sum.sum()  // __m256 imports as SIMD8<Float>
}
#endif
