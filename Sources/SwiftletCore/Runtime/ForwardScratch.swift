/// The model's activations for up to `batchCapacity` tokens, allocated once
/// when a context is created: the forward pass itself never allocates. (The
/// kernels' own buffers belong to ExecutionPlan.)
final class ForwardScratch {
    let batchCapacity: Int
    let hidden: UnsafeMutablePointer<Float>      // [batch, embedding] the residual stream
    let normed: UnsafeMutablePointer<Float>      // [batch, embedding]
    let query: UnsafeMutablePointer<Float>       // [batch, queryLength]
    let key: UnsafeMutablePointer<Float>         // [batch, kvLength]
    let value: UnsafeMutablePointer<Float>       // [batch, kvLength]
    let attention: UnsafeMutablePointer<Float>   // [batch, queryLength] heads' outputs
    let projected: UnsafeMutablePointer<Float>   // [batch, embedding] a block's output before the residual add
    let gate: UnsafeMutablePointer<Float>        // [batch, feedForward]
    let up: UnsafeMutablePointer<Float>          // [batch, feedForward]
    let rotation: UnsafeMutablePointer<Float>    // [batch, headDimension] cos/sin pairs per position
    let windowRotation: UnsafeMutablePointer<Float>  // the same for sliding-window layers' RoPE base (or empty)
    private let buffers: [AnyObject]

    init(config c: TransformerConfig, batchCapacity b: Int, arena: Arena) throws {
        batchCapacity = b
        var buffers: [AnyObject] = []
        func floats(_ count: Int) throws -> UnsafeMutablePointer<Float> {
            let buffer = try ArenaBuffer<Float>(count: count, in: arena)
            buffers.append(buffer)
            return buffer.pointer
        }
        hidden = try floats(b * c.embeddingLength)
        normed = try floats(b * c.embeddingLength)
        query = try floats(b * c.queryLength)
        key = try floats(b * c.kvLength)
        value = try floats(b * c.kvLength)
        attention = try floats(b * c.queryLength)
        projected = try floats(b * c.embeddingLength)
        gate = try floats(b * c.feedForwardLength)
        up = try floats(b * c.feedForwardLength)
        rotation = try floats(b * c.headDimension)
        windowRotation = try floats(c.slidingWindow == nil ? 0 : b * c.headDimension)
        self.buffers = buffers
    }
}
