import CSwiftlet
import SwiftletCore

// An adapter handle is the retained LoRAAdapter itself: immutable after
// loading, so any number of contexts and threads may hold it. A context it is
// attached to keeps its own reference, and the adapter keeps its model alive.

@c @implementation
public func swiftlet_adapter_load(_ model: OpaquePointer?, _ path: UnsafePointer<CChar>?,
                                  _ out_adapter: UnsafeMutablePointer<OpaquePointer?>?) -> swiftlet_status {
    withStatus {
        let base = try modelOf(model)
        let path = try required(path, "path")
        let out = try required(out_adapter, "out_adapter")
        let adapter = try LoRAAdapter(path: stringOf(path), model: base)
        log(SWIFTLET_LOG_INFO, "loaded adapter '\(stringOf(path))': \(adapter.tensorCount) tensors, rank "
            + "\(adapter.rank), alpha \(adapter.alpha)")
        out.pointee = retainedHandle(adapter)
    }
}

@c @implementation
public func swiftlet_adapter_free(_ adapter: OpaquePointer?) {
    releaseHandle(adapter)
}

@c @implementation
public func swiftlet_adapter_info(_ adapter: OpaquePointer?, _ out_rank: UnsafeMutablePointer<Int32>?,
                                  _ out_alpha: UnsafeMutablePointer<Float>?,
                                  _ out_n_tensors: UnsafeMutablePointer<Int32>?) -> swiftlet_status {
    withStatus {
        let a = try object(adapter, as: LoRAAdapter.self, "adapter")
        out_rank?.pointee = Int32(clamping: a.rank)
        out_alpha?.pointee = a.alpha
        out_n_tensors?.pointee = Int32(clamping: a.tensorCount)
    }
}

@c @implementation
public func swiftlet_context_set_adapters(_ context: OpaquePointer?, _ adapters: UnsafePointer<OpaquePointer?>?,
                                          _ scales: UnsafePointer<Float>?, _ n_adapters: Int32) -> swiftlet_status {
    withStatus {
        let handle = try contextHandle(context)
        guard n_adapters >= 0, n_adapters <= InferenceContext.maximumAdapters else {
            throw SwiftletError.invalidArgument(
                "n_adapters \(n_adapters) is out of range (0 to \(InferenceContext.maximumAdapters))")
        }
        var set: [(adapter: LoRAAdapter, scale: Float)] = []
        if n_adapters > 0 {
            let adapters = try required(adapters, "adapters")
            let scales = try required(scales, "scales")
            for i in 0..<Int(n_adapters) {
                set.append((try object(adapters[i], as: LoRAAdapter.self, "adapters[\(i)]"), scales[i]))
            }
        }
        try handle.exclusive { try $0.setAdapters(set) }
    }
}
