import CSwiftlet
import SwiftletCore

@c @implementation
public func swiftlet_context_decode(_ context: OpaquePointer?, _ batch: UnsafePointer<swiftlet_batch>?) -> swiftlet_status {
    withStatus {
        let handle = try contextHandle(context)
        let pointer = try required(batch, "batch")
        let size = Int(UnsafeRawPointer(pointer).load(as: UInt32.self))
        guard size >= MemoryLayout<swiftlet_batch>.size else {
            throw SwiftletError.invalidArgument("batch->struct_size is \(size); set it to sizeof(swiftlet_batch)")
        }
        let b = pointer.pointee
        try handle.exclusive { c in
            try c.checkDecoder()
            guard b.n_tokens > 0 else { throw SwiftletError.invalidArgument("batch->n_tokens is \(b.n_tokens)") }
            let n = Int(b.n_tokens)
            let tokens = try required(b.tokens, "batch->tokens")
            try c.decode(TokenBatch(
                tokens: UnsafeBufferPointer(start: tokens, count: n),
                sequences: b.seq_ids.map { UnsafeBufferPointer(start: $0, count: n) },
                positions: b.positions.map { UnsafeBufferPointer(start: $0, count: n) },
                wantsLogits: b.logits.map { UnsafeBufferPointer(start: $0, count: n) }))
        }
    }
}

@c @implementation
public func swiftlet_context_logits_for(_ context: OpaquePointer?, _ index: Int32) -> UnsafePointer<Float>? {
    guard let c = try? contextOf(context) else { return nil }
    return c.batchLogits(entry: Int(index))?.baseAddress
}

@c @implementation
public func swiftlet_context_seq_length(_ context: OpaquePointer?, _ seq_id: Int32) -> Int32 {
    guard let c = try? contextOf(context), seq_id >= 0, Int(seq_id) < c.sequenceCount else { return -1 }
    return Int32(c.length(of: Int(seq_id)))
}

@c @implementation
public func swiftlet_context_tokens(_ context: OpaquePointer?, _ seq_id: Int32, _ tokens: UnsafeMutablePointer<Int32>?,
                                   _ capacity: Int, _ out_n: UnsafeMutablePointer<Int>?) -> swiftlet_status {
    withStatus {
        let c = try contextOf(context)
        try c.checkSequence(Int(seq_id))
        let held = c.tokens(of: Int(seq_id))
        out_n?.pointee = held.count
        guard capacity >= 0, held.count <= capacity else {
            throw SwiftletError(.bufferTooSmall, "tokens holds \(UInt(bitPattern: capacity)); \(held.count) are needed")
        }
        guard !held.isEmpty else { return }
        let out = try required(tokens, "tokens")
        held.withUnsafeBufferPointer { out.update(from: $0.baseAddress!, count: held.count) }
    }
}

@c @implementation
public func swiftlet_context_seq_remove(_ context: OpaquePointer?, _ seq_id: Int32, _ p0: Int32,
                                       _ p1: Int32) -> swiftlet_status {
    withStatus {
        try contextHandle(context).exclusive { c in
            try c.checkSequence(Int(seq_id))
            let end = p1 < 0 ? c.length(of: Int(seq_id)) : Int(p1)
            guard p0 >= 0, Int(p0) <= end else {
                throw SwiftletError.invalidArgument("p0 \(p0) must be in 0...p1 (\(end))")
            }
            try c.removeTokens(of: Int(seq_id), in: Int(p0)..<end)
        }
    }
}

@c @implementation
public func swiftlet_context_seq_copy(_ context: OpaquePointer?, _ src: Int32, _ dst: Int32,
                                     _ n_tokens: Int32) -> swiftlet_status {
    withStatus {
        try contextHandle(context).exclusive { c in
            try c.checkSequence(Int(src), "src")
            try c.copySequence(Int(src), to: Int(dst), count: n_tokens < 0 ? c.length(of: Int(src)) : Int(n_tokens))
        }
    }
}

@c @implementation
public func swiftlet_context_seq_keep(_ context: OpaquePointer?, _ seq_id: Int32) -> swiftlet_status {
    withStatus { try contextHandle(context).exclusive { try $0.keepOnly(sequence: Int(seq_id)) } }
}

@c @implementation
public func swiftlet_sampler_sample_seq(_ sampler: OpaquePointer?, _ context: OpaquePointer?, _ seq_id: Int32,
                                       _ out_token: UnsafeMutablePointer<Int32>?) -> swiftlet_status {
    withStatus {
        let s = try object(sampler, as: SamplerHandle.self, "sampler").sampler
        let c = try contextOf(context)
        let out = try required(out_token, "out_token")
        try c.checkSequence(Int(seq_id))
        guard let logits = c.logits(of: Int(seq_id)) else {
            throw SwiftletError.invalidArgument("sequence \(seq_id) has no logits: evaluate a token in it first")
        }
        out.pointee = try s.sample(logits: logits, recentTokens: c.tokens(of: Int(seq_id))[...], tokenizer: c.model.tokenizer)
    }
}
