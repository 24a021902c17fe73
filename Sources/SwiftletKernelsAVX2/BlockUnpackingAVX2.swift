// Small AVX2 helpers the weight kernels share: loads, nibble unpacking, the
// unsigned × signed byte dot product of a 32-value block, fp16 gathers, the
// row walk of the kernels that take four tokens at a time.
#if arch(x86_64)
import _Builtin_intrinsics.intel
import CSwiftletSupport

@inline(__always)
func loadVector<T>(_ pointer: UnsafePointer<T>) -> __m256i {
    _mm256_loadu_si256(UnsafeRawPointer(pointer).assumingMemoryBound(to: __m256i.self))
}

@inline(__always)
func loadVector(_ pointer: UnsafeRawPointer) -> __m256i {
    _mm256_loadu_si256(pointer.assumingMemoryBound(to: __m256i.self))
}

/// Eight fp16 values at `pointer` as floats.
@inline(__always)
func halves(_ pointer: UnsafePointer<UInt16>) -> __m256 {
    _mm256_cvtph_ps(_mm_loadu_si128(UnsafeRawPointer(pointer).assumingMemoryBound(to: __m128i.self)))
}

/// The 32 nibbles of a block as 32 bytes in value order (lows, then highs).
@inline(__always)
func unpackNibbles(_ pointer: UnsafeRawPointer) -> __m256i {
    let bytes = _mm_loadu_si128(pointer.assumingMemoryBound(to: __m128i.self))
    let mask = _mm_set1_epi8(0x0F)
    return _mm256_set_m128i(_mm_and_si128(_mm_srli_epi16(bytes, 4), mask), _mm_and_si128(bytes, mask))
}

/// The walk of the kernels that take tokens four at a time (at least four):
/// each row in turn (prefetched), `body(rowBase, row, first)` for tokens
/// first..<first + 4, the last four overlapping the ones before when the
/// count is not a multiple of four (they compute the same values again).
@inline(__always)
func forEachRowInFours(_ weights: UnsafeRawPointer, _ rowByteCount: Int, _ rows: Range<Int>, _ tokens: Int,
                       _ body: (_ rowBase: UnsafeRawPointer, _ row: Int, _ first: Int) -> Void) {
    for row in rows {
        let rowBase = weights + row &* rowByteCount
        slc_prefetch_weight_row(rowBase, rowByteCount)
        var token = 0
        while token < tokens {
            let first = min(token, tokens &- 4)
            body(rowBase, row, first)
            token = first &+ 4
        }
    }
}

/// Σ_i q_i · a_i for unsigned q (≤ 31) and signed a (|a| ≤ 127), as 8 int32 lanes
/// converted to float (exact: each lane ≤ 4 · 31 · 127). Pair sums ≤ 2 · 31 · 127 fit int16.
@inline(__always)
func blockDot(_ q: __m256i, _ x: UnsafePointer<Int8>) -> __m256 {
    let a = _mm256_loadu_si256(UnsafeRawPointer(x).assumingMemoryBound(to: __m256i.self))
    return _mm256_cvtepi32_ps(_mm256_madd_epi16(_mm256_maddubs_epi16(q, a), _mm256_set1_epi16(1)))
}

/// The fp16 values at `base` and the seven places `blockBytes` apart after it,
/// gathered with scalar loads and shifts (the integer ports are idle here).
@inline(__always)
func eightHalves(_ base: UnsafeRawPointer, _ blockBytes: Int) -> __m128i {
    _mm_set_epi64x(fourHalves(base + 4 &* blockBytes, blockBytes), fourHalves(base, blockBytes))
}

/// The fp16 values at `p` and three places `blockBytes` apart, as one int64
/// (a top-level function: as a nested one it was not inlined, 2% of a Gemma 3 token).
@inline(__always)
func fourHalves(_ p: UnsafeRawPointer, _ blockBytes: Int) -> Int64 {
    Int64(bitPattern: UInt64(p.loadUnaligned(as: UInt16.self))
        | UInt64(p.loadUnaligned(fromByteOffset: blockBytes, as: UInt16.self)) &<< 16
        | UInt64(p.loadUnaligned(fromByteOffset: 2 &* blockBytes, as: UInt16.self)) &<< 32
        | UInt64(p.loadUnaligned(fromByteOffset: 3 &* blockBytes, as: UInt16.self)) &<< 48)
}

/// pshufb indexes that spread int16 word `first` over the low 128-bit lane and
/// word `first + 1` over the high lane (of a 16-byte table in both lanes): the
/// sub-block scales of the super-block kernels, two sub-blocks at a time.
@inline(__always)
func wordPairSelector(_ first: Int) -> __m256i {
    let low = Int16(2 &* first) | Int16(2 &* first &+ 1) &<< 8
    return _mm256_set_m128i(_mm_set1_epi16(low &+ 0x0202), _mm_set1_epi16(low))
}
#endif
