import CSwiftlet
import SwiftletCore

// The objects behind the opaque C handles. A handle is a retained Swift
// object; *_free releases it. A context keeps its model alive, so freeing a
// model before its contexts cannot leave them dangling.

final class ModelHandle {
    let model: LanguageModel
    let architecture: OwnedCString
    let name: OwnedCString

    init(_ model: LanguageModel) {
        self.model = model
        architecture = OwnedCString(model.architecture)
        name = OwnedCString(model.name)
    }
}

final class ContextHandle {
    let context: InferenceContext
    init(_ context: InferenceContext) { self.context = context }
}

final class SamplerHandle {
    let sampler: Sampler
    init(_ sampler: Sampler) { self.sampler = sampler }
}

func retainedHandle(_ object: AnyObject) -> OpaquePointer {
    OpaquePointer(Unmanaged.passRetained(object).toOpaque())
}

func releaseHandle(_ handle: OpaquePointer?) {
    guard let handle else { return }
    Unmanaged<AnyObject>.fromOpaque(UnsafeRawPointer(handle)).release()
}

/// The object behind a handle, or INVALID_ARGUMENT for NULL.
func object<T: AnyObject>(_ handle: OpaquePointer?, as _: T.Type, _ name: String) throws -> T {
    let handle = try required(handle, name)
    return Unmanaged<T>.fromOpaque(UnsafeRawPointer(handle)).takeUnretainedValue()
}

func modelOf(_ handle: OpaquePointer?) throws -> LanguageModel { try object(handle, as: ModelHandle.self, "model").model }
func contextOf(_ handle: OpaquePointer?) throws -> InferenceContext {
    try object(handle, as: ContextHandle.self, "context").context
}
