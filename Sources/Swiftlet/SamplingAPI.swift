import CSwiftlet
import SwiftletCore

@c @implementation
public func swiftlet_sampler_params_init(_ params: UnsafeMutablePointer<swiftlet_sampler_params>?) {
    let d = SamplerSettings()
    params?.pointee = swiftlet_sampler_params(
        struct_size: UInt32(MemoryLayout<swiftlet_sampler_params>.size), temperature: d.temperature,
        top_k: Int32(d.topK), top_p: d.topP, min_p: d.minP, repeat_penalty: d.repeatPenalty,
        repeat_last_n: Int32(d.repeatLastN), reserved: 0, seed: d.seed)
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
    return s
}

@c @implementation
public func swiftlet_sampler_create(_ params: UnsafePointer<swiftlet_sampler_params>?,
                                    _ out_sampler: UnsafeMutablePointer<OpaquePointer?>?) -> swiftlet_status {
    withStatus {
        let out = try required(out_sampler, "out_sampler")
        var defaults = swiftlet_sampler_params()
        swiftlet_sampler_params_init(&defaults)
        let p = try readParams(params, defaults: defaults, "params")
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
        out.pointee = s.sample(logits: logits, recentTokens: c.tokens[...])
    }
}
