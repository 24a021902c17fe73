import CSwiftlet
import SwiftletCore

@c @implementation
public func swiftlet_model_params_init(_ params: UnsafeMutablePointer<swiftlet_model_params>?) {
    params?.pointee = swiftlet_model_params(struct_size: UInt32(MemoryLayout<swiftlet_model_params>.size), n_threads: 0,
                                            progress: nil, progress_user_data: nil)
}

@c @implementation
public func swiftlet_model_load(_ path: UnsafePointer<CChar>?, _ params: UnsafePointer<swiftlet_model_params>?,
                                _ out_model: UnsafeMutablePointer<OpaquePointer?>?) -> swiftlet_status {
    withStatus {
        let path = try required(path, "path")
        let out = try required(out_model, "out_model")
        var defaults = swiftlet_model_params()
        swiftlet_model_params_init(&defaults)
        let settings = try readParams(params, defaults: defaults, "params")
        guard settings.n_threads >= 0, settings.n_threads <= 1024 else {
            throw SwiftletError.invalidArgument("n_threads \(settings.n_threads) is out of range")
        }
        let threads = settings.n_threads == 0 ? processorCount() : Int(settings.n_threads)
        let callback = settings.progress, userData = settings.progress_user_data
        let progress = LoadProgress(callback.map { report in { fraction in report(Float(fraction), userData) != 0 } })
        let model = try LanguageModel(path: stringOf(path), loadThreads: threads, progress: progress)
        let c = model.config
        log(SWIFTLET_LOG_INFO, "loaded '\(stringOf(path))': \(model.architecture) '\(model.name)', \(c.layerCount) layers, "
            + "\(model.parameterCount) parameters, vocabulary \(c.vocabularySize)")
        out.pointee = retainedHandle(ModelHandle(model))
    }
}

@c @implementation
public func swiftlet_model_free(_ model: OpaquePointer?) {
    releaseHandle(model)
}

@c @implementation
public func swiftlet_model_get_info(_ model: OpaquePointer?, _ info: UnsafeMutablePointer<swiftlet_model_info>?) -> swiftlet_status {
    withStatus {
        let handle = try object(model, as: ModelHandle.self, "model")
        let m = handle.model, c = m.config
        let value = swiftlet_model_info(
            struct_size: UInt32(MemoryLayout<swiftlet_model_info>.size), n_vocab: Int32(c.vocabularySize),
            architecture: UnsafePointer(handle.architecture.pointer), name: UnsafePointer(handle.name.pointer),
            n_ctx_train: Int32(c.contextLength), n_embd: Int32(c.embeddingLength),
            n_layer: Int32(c.layerCount), n_head: Int32(c.headCount), n_head_kv: Int32(c.kvHeadCount),
            n_ff: Int32(c.feedForwardLength), n_params: m.parameterCount,
            bos_token: m.tokenizer.bosID ?? -1, eos_token: m.tokenizer.eosID ?? -1)
        try writeInfo(value, to: info, "info")
    }
}

@c @implementation
public func swiftlet_model_meta_count(_ model: OpaquePointer?) -> Int32 {
    guard let m = try? modelOf(model) else { return 0 }
    return Int32(m.file.metadataKeys.count)
}

@c @implementation
public func swiftlet_model_meta_key(_ model: OpaquePointer?, _ index: Int32, _ buf: UnsafeMutablePointer<CChar>?,
                                    _ buf_size: Int, _ out_len: UnsafeMutablePointer<Int>?) -> swiftlet_status {
    withStatus {
        let keys = try modelOf(model).file.metadataKeys
        guard index >= 0, Int(index) < keys.count else {
            throw SwiftletError.invalidArgument("metadata index \(index) is out of range (0..<\(keys.count))")
        }
        try copyOut(keys[Int(index)].utf8, to: buf, size: buf_size, length: out_len, terminate: true)
    }
}

@c @implementation
public func swiftlet_model_meta_value(_ model: OpaquePointer?, _ key: UnsafePointer<CChar>?,
                                      _ buf: UnsafeMutablePointer<CChar>?, _ buf_size: Int,
                                      _ out_len: UnsafeMutablePointer<Int>?) -> swiftlet_status {
    withStatus {
        let m = try modelOf(model)
        let name = stringOf(try required(key, "key"))
        guard let value = m.file.metadata(name) else { throw SwiftletError.notFound("no metadata key '\(name)'") }
        try copyOut(value.rendered().utf8, to: buf, size: buf_size, length: out_len, terminate: true)
    }
}
