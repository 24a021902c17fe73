// Batched int8 products for x86-64 with AVX-512 VNNI (vpdpbusd on 256-bit
// registers). This module is compiled with `-target-cpu cascadelake`
// (AVX-512 F/CD/BW/DQ/VL + VNNI, all of which Zen 4, Ice Lake and later have);
// the engine calls it only after checking the CPU (KernelTable.avx512VNNI in SwiftletCore).
//
// Why a kernel of its own for prompts: the per-row dot product of the
// generation path re-reads every activation for every row and spends most of
// its instructions on sign tricks and per-block conversions. Here each
// instruction multiplies 4 bytes of one weight row with 4 bytes of 8 tokens
// at once (vpdpbusd: unsigned × signed bytes, summed in fours into int32
// lanes), four rows share every activation load, and a block's float
// epilogue is paid once per 8 tokens. Measured on Zen 4 it outruns
// dequantize-and-sgemm on the same products (swiftlet-kernel-bench).
#if arch(x86_64)
import _Builtin_intrinsics.intel
import SwiftletWeightFormats

/// Tokens per packed group: one int32 lane each.
public let vnniGroupTokens = 8
/// Rows per tile: they share each activation load.
public let vnniTileRows = 4

/// Weight rows turned into what the kernel reads, for 1...4 rows starting
/// at `firstRow`: `values` gets 4 × columns unsigned bytes u (row-major), and
/// per row and block a scale `d` and offset coefficient `c`, such that the
/// block's weights are d·(u − o) with Σ_i value_i·x_i = d·(d_x·Σ u·q) + c·(d_x·Σ q).
/// Q8_0: u = w + 128, c = −128·d; Q4_1: u = nibble, c = m; Q4_0: u = nibble,
/// c = −8·d. Missing rows of a partial tile repeat the last row (computed, never stored).
/// Whether vnniPrepareRows takes weights in `format` (the plan sends other formats through sgemm).
public func vnniPacks(_ format: WeightFormat) -> Bool { format == .q8_0 || format == .q4_1 || format == .q4_0 }

public func vnniPrepareRows(
    weights: UnsafeRawPointer, rowByteCount: Int, blocksPerRow: Int, format: WeightFormat, firstRow: Int, rowCount: Int,
    values: UnsafeMutablePointer<UInt8>, scales: UnsafeMutablePointer<Float>, offsets: UnsafeMutablePointer<Float>
) {
    let columns = blocksPerRow &* WeightFormat.valuesPerBlock
    let flip = _mm256_set1_epi8(-128)
    let mask = _mm_set1_epi8(0x0F)
    for tileRow in 0..<vnniTileRows {
        let row = firstRow &+ min(tileRow, rowCount &- 1)
        let base = weights + row &* rowByteCount
        let out = values + tileRow &* columns
        for block in 0..<blocksPerRow {
            let destination = UnsafeMutableRawPointer(out + block &* 32)
            let slot = tileRow &* blocksPerRow &+ block
            switch format {
            case .q8_0:
                let b = base + block &* WeightFormat.q8_0.bytesPerBlock
                let d = Float(b.loadUnaligned(as: Float16.self))
                let w = _mm256_loadu_si256((b + WeightFormat.q8_0.valuesOffset).assumingMemoryBound(to: __m256i.self))
                destination.storeBytes(of: _mm256_xor_si256(w, flip), as: __m256i.self)
                scales[slot] = d
                offsets[slot] = -128 * d
            case .q4_1, .q4_0:
                let b = base + block &* format.bytesPerBlock
                let d = Float(b.loadUnaligned(as: Float16.self))
                let nibbles = _mm_loadu_si128((b + format.valuesOffset).assumingMemoryBound(to: __m128i.self))
                // Value order: the 16 low nibbles, then the 16 high ones.
                let unpacked = _mm256_set_m128i(_mm_and_si128(_mm_srli_epi16(nibbles, 4), mask),
                                                _mm_and_si128(nibbles, mask))
                destination.storeBytes(of: unpacked, as: __m256i.self)
                scales[slot] = d
                offsets[slot] = format == .q4_1
                    ? Float(b.loadUnaligned(fromByteOffset: WeightFormat.minimumOffset, as: Float16.self)) : -8 * d
            default:
                preconditionFailure("the packed product takes q8_0, q4_1 and q4_0 only (vnniPacks)")
            }
        }
    }
}

/// For the 4 prepared rows and each group g in `groups` of 8 packed tokens:
/// output[t · outputStride + firstRow + r] for r < rowCount and token t < tokens.
///
/// Packed activations (see PackedActivations in SwiftletCore): per group
/// and block, 8 steps of 32 bytes, step k holding bytes 4k…4k+3 of the
/// block for each of the group's 8 tokens; then per group and block the 8
/// tokens' scales d_x, and their d_x·Σq.
public func vnniPackedProduct(
    values: UnsafePointer<UInt8>, scales: UnsafePointer<Float>, offsets: UnsafePointer<Float>, blocksPerRow: Int,
    packed: UnsafePointer<Int8>, packedScales: UnsafePointer<Float>, packedSums: UnsafePointer<Float>,
    groups: Range<Int>, tokens: Int, firstRow: Int, rowCount: Int,
    output: UnsafeMutablePointer<Float>, outputStride: Int
) {
    let columns = blocksPerRow &* 32
    let w0 = UnsafeRawPointer(values), w1 = w0 + columns, w2 = w1 + columns, w3 = w2 + columns
    let s1 = blocksPerRow, s2 = 2 &* blocksPerRow, s3 = 3 &* blocksPerRow
    for group in groups {
        var f0 = _mm256_setzero_ps(), f1 = _mm256_setzero_ps(), f2 = _mm256_setzero_ps(), f3 = _mm256_setzero_ps()
        for block in 0..<blocksPerRow {
            let slot = group &* blocksPerRow &+ block
            let a = UnsafeRawPointer(packed + slot &* 256)
            var i0 = _mm256_setzero_si256(), i1 = _mm256_setzero_si256()
            var i2 = _mm256_setzero_si256(), i3 = _mm256_setzero_si256()
            let column = block &* 32
            var k = 0
            while k < 32 {
                let x = a.load(fromByteOffset: k &* 8, as: __m256i.self)
                i0 = dot(i0, w0, column &+ k, x)
                i1 = dot(i1, w1, column &+ k, x)
                i2 = dot(i2, w2, column &+ k, x)
                i3 = dot(i3, w3, column &+ k, x)
                k &+= 4
            }
            let xScale = _mm256_loadu_ps(packedScales + slot &* 8)
            let xSum = _mm256_loadu_ps(packedSums + slot &* 8)
            f0 = epilogue(f0, i0, xScale, xSum, scales[block], offsets[block])
            f1 = epilogue(f1, i1, xScale, xSum, scales[s1 &+ block], offsets[s1 &+ block])
            f2 = epilogue(f2, i2, xScale, xSum, scales[s2 &+ block], offsets[s2 &+ block])
            f3 = epilogue(f3, i3, xScale, xSum, scales[s3 &+ block], offsets[s3 &+ block])
        }
        let first = group &* 8
        let count = min(8, tokens &- first)
        store(f0, 0, first, count, firstRow, rowCount, output, outputStride)
        store(f1, 1, first, count, firstRow, rowCount, output, outputStride)
        store(f2, 2, first, count, firstRow, rowCount, output, outputStride)
        store(f3, 3, first, count, firstRow, rowCount, output, outputStride)
    }
}

/// sum + (4 weight bytes at `row[offset]`, broadcast) · (4 bytes of each of 8 tokens).
@inline(__always)
private func dot(_ sum: __m256i, _ row: UnsafeRawPointer, _ offset: Int, _ x: __m256i) -> __m256i {
    let w = _mm256_set1_epi32(row.loadUnaligned(fromByteOffset: offset, as: Int32.self))
    // All 8 lanes enabled: the masked form is the one that imports (the plain one is a C macro).
    return _mm256_mask_dpbusd_epi32(sum, 0xFF, w, x)
}

@inline(__always)
private func epilogue(_ sum: __m256, _ dots: __m256i, _ xScale: __m256, _ xSum: __m256,
                      _ scale: Float, _ offset: Float) -> __m256 {
    let scaled = _mm256_fmadd_ps(_mm256_cvtepi32_ps(dots), _mm256_mul_ps(xScale, _mm256_set1_ps(scale)), sum)
    return _mm256_fmadd_ps(xSum, _mm256_set1_ps(offset), scaled)
}

@inline(__always)
private func store(_ sums: __m256, _ tileRow: Int, _ firstToken: Int, _ count: Int, _ firstRow: Int, _ rowCount: Int,
                   _ output: UnsafeMutablePointer<Float>, _ outputStride: Int) {
    guard tileRow < rowCount else { return }
    var lanes = sums
    withUnsafeBytes(of: &lanes) { raw in
        let values = raw.bindMemory(to: Float.self)
        for t in 0..<count { output[(firstToken &+ t) &* outputStride &+ firstRow &+ tileRow] = values[t] }
    }
}
#endif
