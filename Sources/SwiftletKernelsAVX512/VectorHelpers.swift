// Small vector helpers the kernels of this module share.
#if arch(x86_64)
import _Builtin_intrinsics.intel

/// The sum of 8 lanes as a tree (the generic `.sum()` adds them one after another).
@inline(__always)
func horizontalSum(_ v: __m256) -> Float {
    let four = v.lowHalf + v.highHalf
    let two = _mm_add_ps(four, _mm_movehl_ps(four, four))
    return _mm_add_ss(two, _mm_movehdup_ps(two))[0]
}

/// The fp16 values at `base` + k·stride bytes for k < 8, as floats: the
/// per-block scales of 8 consecutive weight blocks. Gathered with scalar
/// loads and shifts, because the integer ports are idle in the kernels that
/// need them while the vector ports are not.
@inline(__always)
func gatherHalves(_ base: UnsafeRawPointer, stride: Int) -> __m256 {
    _mm256_cvtph_ps(_mm_set_epi64x(fourHalves(base + 4 &* stride, stride), fourHalves(base, stride)))
}

/// Four fp16 values `stride` bytes apart, packed into one 64-bit word. (A
/// top-level function marked for inlining: as a nested function it was
/// compiled as a call, which spilled the kernels' accumulators around it and
/// cost the VNNI row kernels ~40%.)
@inline(__always)
private func fourHalves(_ p: UnsafeRawPointer, _ stride: Int) -> Int64 {
    Int64(bitPattern: UInt64(p.loadUnaligned(as: UInt16.self))
        | UInt64(p.loadUnaligned(fromByteOffset: stride, as: UInt16.self)) &<< 16
        | UInt64(p.loadUnaligned(fromByteOffset: 2 &* stride, as: UInt16.self)) &<< 32
        | UInt64(p.loadUnaligned(fromByteOffset: 3 &* stride, as: UInt16.self)) &<< 48)
}

#endif
