import CSwiftlet
import SwiftletCore

@c @implementation
public func swiftlet_sampler_params_init_sized(_ params: UnsafeMutablePointer<swiftlet_sampler_params>?,
                                              _ struct_size: Int) {
    guard let params, struct_size >= samplerParamsSize04 else { return }
    let size = min(struct_size, MemoryLayout<swiftlet_sampler_params>.size)
    let d = SamplerSettings()
    var defaults = swiftlet_sampler_params(
        struct_size: UInt32(size), temperature: d.temperature,
        top_k: Int32(d.topK), top_p: d.topP, min_p: d.minP, repeat_penalty: d.repeatPenalty,
        repeat_last_n: Int32(d.repeatLastN), reserved: 0, seed: d.seed, grammar: nil)
    withUnsafeBytes(of: &defaults) { UnsafeMutableRawPointer(params).copyMemory(from: $0.baseAddress!, byteCount: size) }
}

/// The struct as 0.1–0.4 had it (up to `seed`): what the unsized init
/// writes, since its callers have room for no more.
private let samplerParamsSize04 = 40

@c @implementation
public func swiftlet_sampler_params_init(_ params: UnsafeMutablePointer<swiftlet_sampler_params>?) {
    swiftlet_sampler_params_init_sized(params, samplerParamsSize04)
}

/// The caller's sampler params (defaults for NULL); `name` for errors.
func samplerParams(_ params: UnsafePointer<swiftlet_sampler_params>?, _ name: String) throws -> swiftlet_sampler_params {
    var defaults = swiftlet_sampler_params()
    swiftlet_sampler_params_init_sized(&defaults, MemoryLayout<swiftlet_sampler_params>.size)
    return try readParams(params, defaults: defaults, name)
}

/// The settings a C params struct describes.
func samplerSettings(_ p: swiftlet_sampler_params) -> SamplerSettings {
    var s = SamplerSettings()
    s.temperature = p.temperature
    s.topK = Int(p.top_k)
    s.topP = p.top_p
    s.minP = p.min_p
    s.repeatPenalty = p.repeat_penalty
    s.repeatLastN = Int(p.repeat_last_n)
    s.seed = p.seed
    s.grammar = p.grammar.map { Unmanaged<Grammar>.fromOpaque(UnsafeRawPointer($0)).takeUnretainedValue() }
    return s
}

@c @implementation
public func swiftlet_sampler_create(_ params: UnsafePointer<swiftlet_sampler_params>?,
                                    _ out_sampler: UnsafeMutablePointer<OpaquePointer?>?) -> swiftlet_status {
    withStatus {
        let out = try required(out_sampler, "out_sampler")
        let p = try samplerParams(params, "params")
        out.pointee = retainedHandle(SamplerHandle(try Sampler(settings: samplerSettings(p))))
    }
}

@c @implementation
public func swiftlet_sampler_free(_ sampler: OpaquePointer?) {
    releaseHandle(sampler)
}

@c @implementation
public func swiftlet_sampler_sample(_ sampler: OpaquePointer?, _ context: OpaquePointer?,
                                    _ out_token: UnsafeMutablePointer<Int32>?) -> swiftlet_status {
    withStatus {
        let s = try object(sampler, as: SamplerHandle.self, "sampler").sampler
        let c = try contextOf(context)
        let out = try required(out_token, "out_token")
        guard let logits = c.logits else {
            throw SwiftletError.invalidArgument("the context has no logits: evaluate a token first")
        }
        out.pointee = try s.sample(logits: logits, recentTokens: c.tokens[...], tokenizer: c.model.tokenizer)
    }
}

@c @implementation
public func swiftlet_sampler_sample_logits(_ sampler: OpaquePointer?, _ model: OpaquePointer?,
                                           _ logits: UnsafePointer<Float>?, _ n_logits: Int,
                                           _ out_token: UnsafeMutablePointer<Int32>?) -> swiftlet_status {
    withStatus {
        let s = try object(sampler, as: SamplerHandle.self, "sampler").sampler
        let m = try modelOf(model)
        let logits = try required(logits, "logits")
        let out = try required(out_token, "out_token")
        let vocabulary = m.tokenizer.vocabularySize
        guard n_logits == vocabulary else {
            throw SwiftletError.invalidArgument("n_logits is \(UInt(bitPattern: n_logits)); the model's vocabulary has \(vocabulary) tokens")
        }
        out.pointee = try s.sample(logits: UnsafeBufferPointer(start: logits, count: n_logits), recentTokens: [],
                                   tokenizer: m.tokenizer)
    }
}

@c @implementation
public func swiftlet_sampler_reset(_ sampler: OpaquePointer?) -> swiftlet_status {
    withStatus {
        try object(sampler, as: SamplerHandle.self, "sampler").sampler.resetGrammar()
    }
}
