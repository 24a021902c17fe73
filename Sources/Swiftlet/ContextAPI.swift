import CSwiftlet
import SwiftletCore

@c @implementation
public func swiftlet_context_params_init_sized(_ params: UnsafeMutablePointer<swiftlet_context_params>?,
                                              _ struct_size: Int) {
    guard let params, struct_size >= contextParamsSize03 else { return }
    let size = min(struct_size, MemoryLayout<swiftlet_context_params>.size)
    var defaults = swiftlet_context_params(
        struct_size: UInt32(size), n_ctx: 0, n_threads: 0, n_batch: 0,
        n_seq_max: 1, overflow: SWIFTLET_OVERFLOW_ERROR, n_keep: 4, n_discard: 0)
    withUnsafeBytes(of: &defaults) { UnsafeMutableRawPointer(params).copyMemory(from: $0.baseAddress!, byteCount: size) }
}

/// The struct as 0.1–0.3 had it (struct_size, n_ctx, n_threads, n_batch):
/// what the unsized init writes, since its callers have room for no more.
private let contextParamsSize03 = 16

@c @implementation
public func swiftlet_context_params_init(_ params: UnsafeMutablePointer<swiftlet_context_params>?) {
    swiftlet_context_params_init_sized(params, contextParamsSize03)
}

@c @implementation
public func swiftlet_context_create(_ model: OpaquePointer?, _ params: UnsafePointer<swiftlet_context_params>?,
                                    _ out_context: UnsafeMutablePointer<OpaquePointer?>?) -> swiftlet_status {
    withStatus {
        let m = try modelOf(model)
        let out = try required(out_context, "out_context")
        var defaults = swiftlet_context_params()
        swiftlet_context_params_init_sized(&defaults, MemoryLayout<swiftlet_context_params>.size)
        let p = try readParams(params, defaults: defaults, "params")
        let overflow: OverflowPolicy
        switch p.overflow {
        case SWIFTLET_OVERFLOW_ERROR: overflow = .error
        case SWIFTLET_OVERFLOW_SHIFT: overflow = .shift(keep: Int(p.n_keep), discard: Int(p.n_discard))
        default: throw SwiftletError.invalidArgument("params->overflow \(p.overflow) is not a SWIFTLET_OVERFLOW_* value")
        }
        let context = try InferenceContext(model: m, capacity: Int(p.n_ctx), threads: Int(p.n_threads),
                                           batchCapacity: Int(p.n_batch), sequences: Int(p.n_seq_max),
                                           overflow: overflow)
        out.pointee = retainedHandle(ContextHandle(context))
    }
}

@c @implementation
public func swiftlet_context_free(_ context: OpaquePointer?) {
    (try? contextHandle(context))?.markFreed()
    releaseHandle(context)
}

@c @implementation
public func swiftlet_context_eval(_ context: OpaquePointer?, _ tokens: UnsafePointer<Int32>?,
                                  _ n_tokens: Int) -> swiftlet_status {
    withStatus {
        try contextHandle(context).exclusive { c in
            try c.evaluate(try callerTokens(tokens, n_tokens, fitting: c))
        }
    }
}

@c @implementation
public func swiftlet_context_eval_all_logits(_ context: OpaquePointer?, _ tokens: UnsafePointer<Int32>?,
                                             _ n_tokens: Int, _ logits: UnsafeMutablePointer<Float>?,
                                             _ logits_capacity: Int) -> swiftlet_status {
    withStatus {
        try contextHandle(context).exclusive { c in
            let logits = try required(logits, "logits")
            let tokens = try callerTokens(tokens, n_tokens, fitting: c)
            // n_tokens fits the context (an Int32), so the product cannot overflow.
            let needed = tokens.count * c.model.config.vocabularySize
            guard logits_capacity >= 0, needed <= logits_capacity else {
                throw SwiftletError(.bufferTooSmall,
                                    "logits holds \(UInt(bitPattern: logits_capacity)) floats; \(needed) are needed")
            }
            try c.evaluate(tokens, allLogits: logits)
        }
    }
}

@c @implementation
public func swiftlet_context_logits(_ context: OpaquePointer?) -> UnsafePointer<Float>? {
    guard let c = try? contextOf(context) else { return nil }
    return c.logits?.baseAddress
}

@c @implementation
public func swiftlet_context_position(_ context: OpaquePointer?) -> Int32 {
    guard let c = try? contextOf(context) else { return 0 }
    return Int32(c.position)
}

@c @implementation
public func swiftlet_context_size(_ context: OpaquePointer?) -> Int32 {
    guard let c = try? contextOf(context) else { return 0 }
    return Int32(c.capacity)
}

@c @implementation
public func swiftlet_context_rewind(_ context: OpaquePointer?, _ position: Int32) -> swiftlet_status {
    withStatus { try contextHandle(context).exclusive { try $0.rewind(to: Int(position)) } }
}

@c @implementation
public func swiftlet_context_reset(_ context: OpaquePointer?) -> swiftlet_status {
    withStatus { try contextHandle(context).exclusive { $0.reset() } }
}

@c @implementation
public func swiftlet_context_cancel(_ context: OpaquePointer?) {
    (try? contextOf(context))?.cancel()
}

/// A caller's token array, checked in the order the header promises: NULL and
/// empty, then room in the context before any id is read (`count` is a
/// size_t: as an Int, values past Int.max are negative).
func callerTokens(_ tokens: UnsafePointer<Int32>?, _ count: Int,
                          fitting context: InferenceContext) throws -> UnsafeBufferPointer<Int32> {
    let tokens = try required(tokens, "tokens")
    guard count != 0 else { throw SwiftletError.invalidArgument("no tokens to evaluate (n_tokens is 0)") }
    guard count > 0 else {
        throw SwiftletError(.contextFull, "\(UInt(bitPattern: count)) tokens do not fit: the context holds "
                            + "\(context.position) of \(context.capacity)")
    }
    try context.checkRoom(for: count)
    return UnsafeBufferPointer(start: tokens, count: count)
}
