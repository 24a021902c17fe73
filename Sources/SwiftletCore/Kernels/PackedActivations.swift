/// A batch of quantized activations rearranged for the VNNI batch kernel
/// (PackedMatrixProduct): tokens in groups of 8, and per group and 32-value
/// block 8 steps of 32 bytes, step k holding bytes 4k…4k+3 of the block for
/// each of the 8 tokens. One vpdpbusd then multiplies 4 weight bytes with
/// 4 bytes of 8 tokens. Per group and block follow the 8 tokens' scales d_x
/// and their d_x·Σq (QuantizedActivations). Tokens past the batch are zeros.
/// Memory is borrowed from the context's scratch.
struct PackedActivations {
    let values: UnsafeMutablePointer<Int8>
    let scales: UnsafeMutablePointer<Float>
    let sums: UnsafeMutablePointer<Float>
    let columns: Int
    let tokens: Int

    static let groupTokens = 8
    var blocksPerRow: Int { columns / WeightFormat.valuesPerBlock }
    var groupCount: Int { (tokens + Self.groupTokens - 1) / Self.groupTokens }

    /// Int8 values and scale floats (each for scales and for sums) needed for `tokens` tokens of `columns`.
    static func capacity(tokens: Int, columns: Int) -> (values: Int, floats: Int) {
        let padded = (tokens + groupTokens - 1) / groupTokens * groupTokens
        return (padded * columns, padded * columns / WeightFormat.valuesPerBlock)
    }

    /// Rearranges groups `groups` of `source`'s first `tokens` tokens.
    func pack(_ source: QuantizedActivations, groups: Range<Int>) {
        let blocks = blocksPerRow
        for group in groups {
            for lane in 0..<Self.groupTokens {
                let token = group * Self.groupTokens + lane
                let present = token < tokens
                let from = UnsafeRawPointer(source.rowValues(present ? token : 0))
                let fromScales = source.rowScales(present ? token : 0), fromSums = source.rowSums(present ? token : 0)
                for block in 0..<blocks {
                    let slot = group * blocks + block
                    let to = UnsafeMutableRawPointer(values + slot * 256 + lane * 4)
                    for step in 0..<8 {
                        let word = present ? from.loadUnaligned(fromByteOffset: block * 32 + step * 4, as: UInt32.self) : 0
                        to.storeBytes(of: word, toByteOffset: step * 32, as: UInt32.self)
                    }
                    scales[slot * Self.groupTokens + lane] = present ? fromScales[block] : 0
                    sums[slot * Self.groupTokens + lane] = present ? fromSums[block] : 0
                }
            }
        }
    }
}
