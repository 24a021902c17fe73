import CSwiftlet
import Glibc
import SwiftletCore

@c @implementation
public func swiftlet_embed_params_init(_ params: UnsafeMutablePointer<swiftlet_embed_params>?) {
    params?.pointee = swiftlet_embed_params(struct_size: UInt32(MemoryLayout<swiftlet_embed_params>.size),
                                            pooling: SWIFTLET_POOLING_MODEL, normalize: 1, reserved: 0)
}

@c @implementation
public func swiftlet_embed(_ context: OpaquePointer?, _ texts: UnsafePointer<UnsafePointer<CChar>?>?, _ n_texts: Int,
                           _ params: UnsafePointer<swiftlet_embed_params>?, _ out: UnsafeMutablePointer<Float>?,
                           _ out_capacity: Int, _ out_count: UnsafeMutablePointer<Int>?) -> swiftlet_status {
    withStatus {
        try contextHandle(context).exclusive { c in
            let texts = try required(texts, "texts")
            let count = try required(out_count, "out_count")
            var defaults = swiftlet_embed_params()
            swiftlet_embed_params_init(&defaults)
            let settings = try readParams(params, defaults: defaults, "params")
            let pooling = try poolingOf(settings.pooling, model: c.model)
            // n_texts is a size_t: past Int.max it is negative here.
            guard n_texts > 0, n_texts <= Int(Int32.max) else {
                throw SwiftletError.invalidArgument("n_texts \(UInt(bitPattern: n_texts)) must be 1 to \(Int32.max)")
            }
            let width = c.model.config.embeddingLength
            let (needed, overflow) = n_texts.multipliedReportingOverflow(by: width)
            guard !overflow else { throw SwiftletError.invalidArgument("n_texts \(n_texts) is too large") }
            count.pointee = needed
            guard out_capacity >= 0, needed <= out_capacity else {
                throw SwiftletError(.bufferTooSmall, "out holds \(UInt(bitPattern: out_capacity)) floats; \(needed) are needed")
            }
            let destination = try required(out, "out")
            var sequences: [[Int32]] = []
            sequences.reserveCapacity(n_texts)
            for i in 0..<n_texts {
                guard let text = texts[i] else { throw SwiftletError.invalidArgument("texts[\(i)] is NULL") }
                let length = strnlen(text, Int(SWIFTLET_MAX_TEXT_BYTES) + 1)
                guard length <= Int(SWIFTLET_MAX_TEXT_BYTES) else {
                    throw SwiftletError.invalidArgument("texts[\(i)] is longer than SWIFTLET_MAX_TEXT_BYTES")
                }
                let bytes = Array(UnsafeRawBufferPointer(start: text, count: length))
                sequences.append(c.model.embeddingTokens(bytes))
            }
            try c.embed(sequences, pooling: pooling, normalize: settings.normalize != 0, into: destination)
        }
    }
}

/// A SWIFTLET_POOLING_* value as the engine's Pooling (the model's own for MODEL).
private func poolingOf(_ value: Int32, model: LanguageModel) throws -> TransformerConfig.Pooling {
    switch value {
    case SWIFTLET_POOLING_MODEL: return model.config.pooling
    case SWIFTLET_POOLING_MEAN: return .mean
    case SWIFTLET_POOLING_CLS: return .first
    case SWIFTLET_POOLING_LAST: return .last
    default: throw SwiftletError.invalidArgument("pooling \(value) is not a SWIFTLET_POOLING_* value")
    }
}
