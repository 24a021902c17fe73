import CSwiftlet
import SwiftletCore
import Synchronization

// The objects behind the opaque C handles. A handle is a retained Swift
// object; *_free releases it. A context keeps its model alive, so the free
// order of models and contexts never matters.

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

/// A context's handle. Every call that changes the context runs inside
/// `exclusive`, which holds the handle (so freeing it from the call's own
/// callback releases the memory only when the call returns) and the
/// context's busy flag (so a second caller gets BUSY).
final class ContextHandle {
    let context: InferenceContext
    /// Set by swiftlet_context_free; a running call stops calling back then.
    private let freed = Atomic<Bool>(false)
    init(_ context: InferenceContext) { self.context = context }

    var isFreed: Bool { freed.load(ordering: .acquiring) }

    func exclusive<Result>(_ body: (InferenceContext) throws -> Result) throws -> Result {
        try withExtendedLifetime(self) { try context.exclusive { try body(context) } }
    }

    /// Marks the handle freed and stops the call running on it, if any; the
    /// caller then releases the handle's own reference.
    func markFreed() {
        freed.store(true, ordering: .releasing)
        context.cancel()
    }
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
func contextHandle(_ handle: OpaquePointer?) throws -> ContextHandle { try object(handle, as: ContextHandle.self, "context") }
