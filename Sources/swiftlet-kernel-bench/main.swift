// swiftlet-kernel-bench: each AVX2 kernel timed alone, so a change to one is
// measured in isolation (`make bench-kernels`). Weight-streaming kernels are
// reported against a plain read of the same buffer in the same run (the
// peer: what memory gives one core); in-cache kernels as arithmetic rates.
// Shapes are SmolLM2-135M's: 576-wide rows, 64-dimension heads, 576 positions.
#if arch(x86_64)
import CSwiftletSupport
import Glibc
import SwiftletKernelsAVX2
import SwiftletKernelsAVX512
import SwiftletWeightFormats
import _Builtin_intrinsics.intel

guard slc_cpu_has_avx2_fma() else {
    fputs("swiftlet-kernel-bench: this CPU lacks AVX2/FMA/F16C; nothing to measure\n", stderr)
    exit(1)
}

func now() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) * 1e-9
}

/// Fastest seconds per call of `body` over `repetitions` timed calls after
/// one warm-up: on a shared machine other work only ever adds time, so the
/// minimum is the steadiest estimate of what the kernel itself costs.
func measure(repetitions: Int, _ body: () -> Void) -> Double {
    body()
    var best = Double.infinity
    for _ in 0..<repetitions {
        let start = now()
        body()
        best = min(best, now() - start)
    }
    return best
}

/// Deterministic filler (xorshift) so no kernel sees all-zero data.
struct Filler {
    var state: UInt64 = 0x9E37_79B9_7F4A_7C15
    mutating func next() -> UInt64 {
        state ^= state << 13; state ^= state >> 7; state ^= state << 17
        return state
    }
    mutating func byte() -> UInt8 { UInt8(truncatingIfNeeded: next()) }
    /// A small float in [-1, 1).
    mutating func unit() -> Float { Float(Int(next() >> 40) - (1 << 23)) / Float(1 << 23) }
}
var filler = Filler()

func row(_ name: String, _ shape: String, _ seconds: Double, _ rate: String, _ note: String = "") {
    let micro = seconds * 1e6
    let padded = { (s: String, w: Int) in s + String(repeating: " ", count: max(0, w - s.count)) }
    print(padded(name, 24) + padded(shape, 26) + padded(String(format1(micro)) + " µs", 14) + padded(rate, 16) + note)
}

func format1(_ v: Double) -> String {
    let scaled = (v * 10).rounded() / 10
    return scaled >= 100 ? String(Int(scaled.rounded())) : String(scaled)
}

func format2(_ v: Double) -> String {
    let hundredths = Int((v * 100).rounded())
    return "\(hundredths / 100)." + (hundredths % 100 < 10 ? "0" : "") + "\(hundredths % 100)"
}

let columns = 576, blocksPerRow = columns / 32

// Activations for up to 32 tokens: int8 values, per-block scales and scale·Σq.
let maxTokens = 32
let activations = UnsafeMutablePointer<Int8>.allocate(capacity: maxTokens * columns)
let activationScales = UnsafeMutablePointer<Float>.allocate(capacity: maxTokens * blocksPerRow)
let activationSums = UnsafeMutablePointer<Float>.allocate(capacity: maxTokens * blocksPerRow)
for i in 0..<(maxTokens * columns) { activations[i] = Int8(truncatingIfNeeded: Int(filler.byte() % 255) - 127) }
for i in 0..<(maxTokens * blocksPerRow) { activationScales[i] = 0.01; activationSums[i] = 0.3 }

// The super-block formats' activations (SuperBlockActivationLayout, ggml's
// Q8_K): 1536-wide rows (SmolLM2's ffn_down input), int8 values, one scale
// per 256 values and the Int16 sum of each 16.
let superColumns = 1536, superBlocksPerRow = superColumns / WeightFormat.valuesPerSuperBlock
let superActivations = UnsafeMutablePointer<Int8>.allocate(capacity: maxTokens * superColumns)
let superScales = UnsafeMutablePointer<Float>.allocate(capacity: maxTokens * superBlocksPerRow)
let superSums = UnsafeMutablePointer<Int16>.allocate(capacity: maxTokens * superColumns / 16)
for i in 0..<(maxTokens * superColumns) { superActivations[i] = Int8(truncatingIfNeeded: Int(filler.byte() % 255) - 127) }
for i in 0..<(maxTokens * superBlocksPerRow) { superScales[i] = 0.01 }
for g in 0..<(maxTokens * superColumns / 16) {
    superSums[g] = Int16((0..<16).reduce(0) { $0 + Int(superActivations[16 * g + $1]) })
}

/// Where a block of `format` keeps its fp16 fields (d, and m or dmin), in bytes (BlockLayouts.swift).
func halfOffsets(_ format: WeightFormat) -> [Int] {
    switch format {
    case .q8_0, .q4_0, .q5_0, .iq4_nl: return [0]
    case .q4_1, .q5_1: return [0, 2]
    case .q2_K: return [Q2_KLayout.d, Q2_KLayout.dmin]
    case .q3_K: return [Q3_KLayout.d]
    case .q4_K: return [Q4_KLayout.d, Q4_KLayout.dmin]
    case .q5_K: return [Q5_KLayout.d, Q5_KLayout.dmin]
    case .q6_K: return [Q6_KLayout.d]
    case .iq4_xs: return [IQ4_XSLayout.d]
    }
}

/// A buffer of weight blocks: random bytes, with every block's fp16 fields
/// (at `halves`, byte offsets in a block) set to a small finite half.
func weightBuffer(bytes: Int, blockBytes: Int, halves: [Int]) -> UnsafeMutableRawPointer {
    let buffer = UnsafeMutableRawPointer.allocate(byteCount: bytes, alignment: 64)
    let words = buffer.bindMemory(to: UInt64.self, capacity: bytes / 8)
    for i in 0..<(bytes / 8) { words[i] = filler.next() }
    var offset = 0
    while offset + blockBytes <= bytes {
        for h in halves { buffer.storeBytes(of: Float16(0.01).bitPattern, toByteOffset: offset + h, as: UInt16.self) }
        offset += blockBytes
    }
    return buffer
}

/// A plain AVX2 read of `bytes` (four independent 64-bit add chains).
func readAll(_ base: UnsafeRawPointer, _ bytes: Int) -> Int64 {
    var a0 = _mm256_setzero_si256(), a1 = a0, a2 = a0, a3 = a0
    var offset = 0
    while offset + 128 <= bytes {
        let p = base + offset
        a0 = _mm256_add_epi64(a0, p.load(as: __m256i.self))
        a1 = _mm256_add_epi64(a1, p.load(fromByteOffset: 32, as: __m256i.self))
        a2 = _mm256_add_epi64(a2, p.load(fromByteOffset: 64, as: __m256i.self))
        a3 = _mm256_add_epi64(a3, p.load(fromByteOffset: 96, as: __m256i.self))
        offset += 128
    }
    let total = _mm256_add_epi64(_mm256_add_epi64(a0, a1), _mm256_add_epi64(a2, a3))
    return total.wrappedSum()
}

var sink: Float = 0
var integerSink: Int64 = 0
let output = UnsafeMutablePointer<Float>.allocate(capacity: 1 << 20)

print("kernel                  shape                     time/call     rate            vs peer  bits/weight")
print(String(repeating: "-", count: 100))

// ---- Weight streaming: one token, a matrix far larger than the caches. Each
// kernel's row also gives its format's bits per weight: near the peer, memory
// bounds it; well below, its arithmetic does (the in-L2 rows show that ceiling).
let streamBytes = 192 << 20
let gigabytes = { (bytes: Int, seconds: Double) in Double(bytes) / seconds / 1e9 }
let plainBase = weightBuffer(bytes: streamBytes, blockBytes: 64, halves: [])
let readSeconds = measure(repetitions: 15) { integerSink &+= readAll(plainBase, streamBytes) }
let readRate = gigabytes(streamBytes, readSeconds)
row("read (peer)", "192 MiB", readSeconds, "\(format1(readRate)) GB/s", "1.00")
plainBase.deallocate()

/// A generation-path product kernel under test: its weight format, its row
/// width (a multiple of the format's block length) and a call of it.
struct ProductKernel {
    let name: String
    let format: WeightFormat
    let columns: Int
    /// output[t · outputStride + r] = row r of the weights · token t, for r < rows and t < tokens.
    let run: (_ weights: UnsafeRawPointer, _ rows: Int, _ tokens: Int, _ output: UnsafeMutablePointer<Float>,
              _ outputStride: Int) -> Void
    var rowBytes: Int { format.rowByteCount(columns: columns) }
    var bitsPerWeight: Double { Double(format.bytesPerBlock * 8) / Double(format.blockLength) }
}

/// The 32-value-block products' signature (avx2Q5_0MatrixProduct's): Float scales and sums per block.
typealias BlockProduct = (UnsafeRawPointer, Int, Int, Range<Int>, UnsafePointer<Int8>, UnsafePointer<Float>,
                          UnsafePointer<Float>, Int, UnsafeMutablePointer<Float>, Int) -> Void
/// The super-block products' (avx2Q4_KMatrixProduct's): a Float scale per 256 values, Int16 sums per 16.
typealias SuperBlockProduct = (UnsafeRawPointer, Int, Int, Range<Int>, UnsafePointer<Int8>, UnsafePointer<Float>,
                               UnsafePointer<Int16>, Int, UnsafeMutablePointer<Float>, Int) -> Void

func blockKernel(_ name: String, _ format: WeightFormat, _ product: @escaping BlockProduct) -> ProductKernel {
    let rowBytes = format.rowByteCount(columns: columns)
    return ProductKernel(name: name, format: format, columns: columns) { weights, rows, tokens, output, stride in
        product(weights, rowBytes, blocksPerRow, 0..<rows, activations, activationScales, activationSums, tokens,
                output, stride)
    }
}

func superBlockKernel(_ name: String, _ format: WeightFormat, _ product: @escaping SuperBlockProduct) -> ProductKernel {
    let rowBytes = format.rowByteCount(columns: superColumns)
    return ProductKernel(name: name, format: format, columns: superColumns) { weights, rows, tokens, output, stride in
        product(weights, rowBytes, superBlocksPerRow, 0..<rows, superActivations, superScales, superSums, tokens,
                output, stride)
    }
}

/// Q4_1 (hasMinimum) or Q4_0 through avx2Q4MatrixProduct or vnniQ4MatrixProduct.
func q4(hasMinimum: Bool, vnni: Bool = false) -> BlockProduct {
    let product = vnni ? vnniQ4MatrixProduct : avx2Q4MatrixProduct
    return { product($0, $1, $2, hasMinimum, $3, $4, $5, $6, $7, $8, $9) }
}

let vnni = slc_cpu_has_avx512_vnni()
let q8Bytes = WeightFormat.q8_0.bytesPerBlock
var productKernels = [
    blockKernel("q8_0 × int8", .q8_0) {
        avx2Q8MatrixProduct(weights: $0, rowByteCount: $1, blocksPerRow: $2, rows: $3, activations: $4,
                            activationScales: $5, tokens: $7, output: $8, outputStride: $9)
    },
    blockKernel("q4_1 × int8", .q4_1, q4(hasMinimum: true)),
    blockKernel("q4_0 × int8", .q4_0, q4(hasMinimum: false)),
    blockKernel("q5_0 × int8", .q5_0, avx2Q5_0MatrixProduct),
    blockKernel("q5_1 × int8", .q5_1, avx2Q5_1MatrixProduct),
    blockKernel("iq4_nl × int8", .iq4_nl, avx2IQ4_NLMatrixProduct),
    superBlockKernel("q2_K × q8_K", .q2_K, avx2Q2_KMatrixProduct),
    superBlockKernel("q3_K × q8_K", .q3_K, avx2Q3_KMatrixProduct),
    superBlockKernel("q4_K × q8_K", .q4_K, avx2Q4_KMatrixProduct),
    superBlockKernel("q5_K × q8_K", .q5_K, avx2Q5_KMatrixProduct),
    superBlockKernel("q6_K × q8_K", .q6_K, avx2Q6_KMatrixProduct),
    superBlockKernel("iq4_xs × q8_K", .iq4_xs, avx2IQ4_XSMatrixProduct),
]
if vnni {
    productKernels.insert(blockKernel("q8_0 × int8 VNNI", .q8_0, vnniQ8MatrixProduct), at: 1)
    productKernels.insert(blockKernel("q4_1 × int8 VNNI", .q4_1, q4(hasMinimum: true, vnni: true)), at: 3)
}
for kernel in productKernels {
    let rowBytes = kernel.rowBytes
    let rows = streamBytes / rowBytes
    let base = weightBuffer(bytes: rows * rowBytes, blockBytes: kernel.format.bytesPerBlock,
                            halves: halfOffsets(kernel.format))
    let outputRows = 1 << 20
    let seconds = measure(repetitions: 15) {
        var start = 0
        while start < rows {  // output rows wrap: only the weight stream matters here
            let count = min(4096, rows - start)
            kernel.run(base + start * rowBytes, count, 1, output + (start % outputRows), count)
            start += count
        }
    }
    let rate = gigabytes(rows * rowBytes, seconds)
    let ratio = format2(rate / readRate)
    row("\(kernel.name) stream", "\(rows)×\(kernel.columns), 1 tok", seconds, "\(format1(rate)) GB/s",
        ratio + String(repeating: " ", count: 9 - ratio.count) + format2(kernel.bitsPerWeight))
    base.deallocate()
}

// ---- In-cache products: 576×576 values (L2; 216×1536 for the super-block
// formats), 1 and 32 tokens; the 1-token row also as the rate weights are
// consumed, the kernel's ceiling when memory is not the limit.
for kernel in productKernels {
    let rows = 576 * 576 / kernel.columns
    let base = weightBuffer(bytes: rows * kernel.rowBytes, blockBytes: kernel.format.bytesPerBlock,
                            halves: halfOffsets(kernel.format))
    for tokens in [1, maxTokens] {
        let seconds = measure(repetitions: 201) { kernel.run(base, rows, tokens, output, rows) }
        let ops = 2.0 * Double(rows * kernel.columns * tokens)
        row("\(kernel.name) in L2", "\(rows)×\(kernel.columns), \(tokens) tok", seconds,
            "\(format1(ops / seconds / 1e9)) GOP/s",
            tokens == 1 ? "\(format1(gigabytes(rows * kernel.rowBytes, seconds))) GB/s of weights" : "")
    }
    base.deallocate()
}

// ---- A prompt's projection: 512 tokens × a 1536×576 Q8_0 matrix (the
// feed-forward gate), one thread. Peer: the sgemm path (rows dequantized to
// fp32, OpenBLAS sgemm); with AVX-512 VNNI also the packed int8 kernel.
do {
    let tokens = 512, rows = 1536, rowBytes = blocksPerRow * q8Bytes
    let weights = weightBuffer(bytes: rows * rowBytes, blockBytes: q8Bytes, halves: [0])
    let input = UnsafeMutablePointer<Float>.allocate(capacity: tokens * columns)
    for i in 0..<(tokens * columns) { input[i] = filler.unit() }
    let dequantized = UnsafeMutablePointer<Float>.allocate(capacity: rows * columns)
    let products = UnsafeMutablePointer<Float>.allocate(capacity: tokens * rows)
    let ops = 2.0 * Double(tokens * rows * columns)
    let sgemmSeconds = measure(repetitions: 9) {
        for r in 0..<rows {
            let block = UnsafeRawPointer(weights) + r * rowBytes
            for b in 0..<blocksPerRow {
                let d = Float(block.loadUnaligned(fromByteOffset: b * q8Bytes, as: Float16.self))
                for i in 0..<32 {
                    dequantized[r * columns + b * 32 + i] = d * Float(block.load(fromByteOffset: b * q8Bytes + WeightFormat.q8_0.valuesOffset + i, as: Int8.self))
                }
            }
        }
        slb_sgemm_a_bt(Int32(tokens), Int32(rows), Int32(columns), input, Int32(columns), dequantized, Int32(columns),
                       products, Int32(rows))
    }
    row("dequantize + sgemm", "512 tok × 1536×576", sgemmSeconds, "\(format1(ops / sgemmSeconds / 1e9)) GOP/s", "1.00")
    if slc_cpu_has_avx512_vnni() {
        let groups = tokens / vnniGroupTokens
        let packed = UnsafeMutablePointer<Int8>.allocate(capacity: tokens * columns)
        for i in 0..<(tokens * columns) { packed[i] = Int8(truncatingIfNeeded: Int(filler.byte() % 255) - 127) }
        let packedScales = UnsafeMutablePointer<Float>.allocate(capacity: tokens * blocksPerRow)
        let packedSums = UnsafeMutablePointer<Float>.allocate(capacity: tokens * blocksPerRow)
        packedScales.initialize(repeating: 0.01, count: tokens * blocksPerRow)
        packedSums.initialize(repeating: 0.3, count: tokens * blocksPerRow)
        let values = UnsafeMutablePointer<UInt8>.allocate(capacity: 4 * columns)
        let tileScales = UnsafeMutablePointer<Float>.allocate(capacity: 8 * blocksPerRow)
        let vnniSeconds = measure(repetitions: 9) {
            var r = 0
            while r < rows {
                vnniPrepareRows(weights: weights, rowByteCount: rowBytes, blocksPerRow: blocksPerRow, format: .q8_0,
                                firstRow: r, rowCount: 4, values: values, scales: tileScales,
                                offsets: tileScales + 4 * blocksPerRow)
                vnniPackedProduct(values: values, scales: tileScales, offsets: tileScales + 4 * blocksPerRow,
                                  blocksPerRow: blocksPerRow, packed: packed, packedScales: packedScales,
                                  packedSums: packedSums, groups: 0..<groups, tokens: tokens, firstRow: r, rowCount: 4,
                                  output: products, outputStride: rows)
                r += 4
            }
        }
        row("q8_0 × int8 VNNI", "512 tok × 1536×576", vnniSeconds, "\(format1(ops / vnniSeconds / 1e9)) GOP/s",
            format1(sgemmSeconds / vnniSeconds))
    }
}

// ---- Attention over one head's fp16 cache (576 positions × 64, in L2).
let positions = 576, dimension = 64
let halves = UnsafeMutablePointer<UInt16>.allocate(capacity: positions * dimension)
for i in 0..<(positions * dimension) { halves[i] = Float16(filler.unit()).bitPattern }
let query = UnsafeMutablePointer<Float>.allocate(capacity: dimension)
for i in 0..<dimension { query[i] = filler.unit() }
let scores = UnsafeMutablePointer<Float>.allocate(capacity: positions)
let flops = 2.0 * Double(positions * dimension)
let scoreSeconds = measure(repetitions: 2001) {
    avx2AttentionScores(query: query, keys: halves, keyStride: dimension, positions: positions, dimension: dimension,
                        scale: 0.125, scores: scores)
}
row("attention scores", "576 pos × 64", scoreSeconds, "\(format1(flops / scoreSeconds / 1e9)) GFLOP/s")
for i in 0..<positions { scores[i] = 1 / Float(positions) }
let mixSeconds = measure(repetitions: 2001) {
    avx2AttentionMix(weights: scores, values: halves, valueStride: dimension, positions: positions,
                     dimension: dimension, output: output)
}
row("attention mix", "576 pos × 64", mixSeconds, "\(format1(flops / mixSeconds / 1e9)) GFLOP/s")

// Three query heads of one key/value head: the per-head kernels three times
// (scores, softmax, mix) as the peer, then the grouped kernels.
do {
    let values = UnsafeMutablePointer<UInt16>.allocate(capacity: positions * dimension)
    for i in 0..<(positions * dimension) { values[i] = Float16(filler.unit()).bitPattern }
    let queries = UnsafeMutablePointer<Float>.allocate(capacity: 3 * dimension)
    for i in 0..<(3 * dimension) { queries[i] = filler.unit() }
    let groupScores = UnsafeMutablePointer<Float>.allocate(capacity: 3 * positions)
    let perHeadSeconds = measure(repetitions: 2001) {
        for h in 0..<3 {
            avx2AttentionScores(query: queries + h * dimension, keys: halves, keyStride: dimension,
                                positions: positions, dimension: dimension, scale: 0.125, scores: groupScores)
            avx2Softmax(groupScores, count: positions)
            avx2AttentionMix(weights: groupScores, values: values, valueStride: dimension, positions: positions,
                             dimension: dimension, output: output + h * dimension)
        }
    }
    row("attention, 3 heads", "576 pos × 64, per head", perHeadSeconds, "\(format1(3 * 2 * flops / perHeadSeconds / 1e9)) GFLOP/s",
        "1.00")
    let groupedKernels: [(name: String, run: (UnsafePointer<UInt16>, UnsafePointer<UInt16>) -> Void)] =
        [("AVX2 group", { keys, values in
            avx2GroupAttention(queries: queries, heads: 3, keys: keys, values: values, positions: positions,
                               dimension: dimension, scale: 0.125, scores: groupScores,
                               softmax: { avx2Softmax($0, count: $1) }, output: output)
        })] + (slc_cpu_has_avx512_vnni() ? [("AVX-512 group", { keys, values in
            avx512GroupAttention(queries: queries, heads: 3, keys: keys, values: values, positions: positions,
                                 scale: 0.125, scores: groupScores, softmax: { avx2Softmax($0, count: $1) },
                                 output: output)
        })] : [])
    for kernel in groupedKernels {
        let groupSeconds = measure(repetitions: 2001) { kernel.run(halves, values) }
        row("attention, 3 heads", "576 pos × 64, \(kernel.name)", groupSeconds,
            "\(format1(3 * 2 * flops / groupSeconds / 1e9)) GFLOP/s", format1(perHeadSeconds / groupSeconds))
    }

    // A whole token's attention as generation sees it, with the grouped kernel
    // this CPU runs: 90 groups (30 layers × 3 key/value heads), their 13 MB of
    // keys and values evicted from the caches first (by reading 64 MiB), as
    // the weight stream does.
    let kernel = groupedKernels[groupedKernels.count - 1]
    let groups = 90, groupHalves = positions * dimension
    let cache = UnsafeMutablePointer<UInt16>.allocate(capacity: 2 * groups * groupHalves)
    for i in 0..<(2 * groups * groupHalves) { cache[i] = Float16(filler.unit() * 0.1).bitPattern }
    let evictBytes = 64 << 20
    let evict = weightBuffer(bytes: evictBytes, blockBytes: 64, halves: [])
    var best = Double.infinity
    for _ in 0..<15 {
        integerSink &+= readAll(evict, evictBytes)
        let start = now()
        for g in 0..<groups { kernel.run(cache + 2 * g * groupHalves, cache + (2 * g + 1) * groupHalves) }
        best = min(best, now() - start)
    }
    let coldBytes = 2 * groups * groupHalves * 2
    row("attention, a token", "90 groups, cold cache", best, "\(format1(gigabytes(coldBytes, best))) GB/s K+V",
        format1(gigabytes(coldBytes, best) / readRate))
    evict.deallocate()
    cache.deallocate()
}

// ---- Activation quantization of one 576-wide row.
let floats = UnsafeMutablePointer<Float>.allocate(capacity: 1536)
for i in 0..<1536 { floats[i] = filler.unit() }
let quantizeSeconds = measure(repetitions: 2001) {
    avx2QuantizeRow(floats, values: activations, scales: activationScales, sums: activationSums, count: columns)
}
row("quantize row", "576", quantizeSeconds, "\(format1(Double(columns) / quantizeSeconds / 1e9)) Gvalue/s")

sink += output[0] + scores[0]
if sink.isNaN && integerSink == 42 { print("") }  // keeps the results observable
#else
print("swiftlet-kernel-bench measures the x86-64 kernels; nothing to do on this architecture")
#endif
