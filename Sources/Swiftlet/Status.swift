import CSwiftlet
import Glibc
import SwiftletCore

// Status codes, the per-thread last error, and the one funnel every exported
// function goes through so no Swift error ever crosses the C boundary.

/// The C status code of an engine error kind.
func statusCode(_ kind: SwiftletError.Kind) -> swiftlet_status {
    switch kind {
    case .invalidArgument: SWIFTLET_ERROR_INVALID_ARGUMENT
    case .io: SWIFTLET_ERROR_IO
    case .invalidFile: SWIFTLET_ERROR_INVALID_FILE
    case .unsupported: SWIFTLET_ERROR_UNSUPPORTED
    case .notFound: SWIFTLET_ERROR_NOT_FOUND
    case .bufferTooSmall: SWIFTLET_ERROR_BUFFER_TOO_SMALL
    case .contextFull: SWIFTLET_ERROR_CONTEXT_FULL
    case .cancelled: SWIFTLET_ERROR_CANCELLED
    case .outOfMemory: SWIFTLET_ERROR_OUT_OF_MEMORY
    case .template: SWIFTLET_ERROR_TEMPLATE
    case .internal: SWIFTLET_ERROR_INTERNAL
    case .busy: SWIFTLET_ERROR_BUSY
    }
}

/// Runs `body`, turning a thrown error into its status and recording the
/// message as the calling thread's last error.
func withStatus(_ body: () throws -> Void) -> swiftlet_status {
    do {
        try body()
        return SWIFTLET_OK
    } catch let error as SwiftletError {
        return fail(error)
    } catch {
        return fail(SwiftletError(.internal, "unexpected error: \(error)"))
    }
}

/// Records `error` as this thread's last error and returns its status.
func fail(_ error: SwiftletError) -> swiftlet_status {
    LastError.set(error.message)
    return statusCode(error.kind)
}

/// Unwraps a required pointer argument or throws INVALID_ARGUMENT naming it.
func required<T>(_ pointer: T?, _ name: String) throws -> T {
    guard let pointer else { throw SwiftletError.invalidArgument("\(name) is NULL") }
    return pointer
}

/// The per-thread message behind swiftlet_last_error(), kept in a pthread key
/// so each thread sees its own and the storage dies with the thread.
enum LastError {
    private static let key: pthread_key_t = {
        var key = pthread_key_t()
        pthread_key_create(&key) { free($0) }
        return key
    }()

    static func set(_ message: String) {
        let old = pthread_getspecific(key)
        let copy = strdup(message)
        pthread_setspecific(key, copy)
        free(old)
    }

    static var current: UnsafePointer<CChar>? {
        pthread_getspecific(key).map { UnsafePointer($0.assumingMemoryBound(to: CChar.self)) }
    }
}

@c @implementation
public func swiftlet_status_string(_ status: swiftlet_status) -> UnsafePointer<CChar>! {
    switch status {
    case SWIFTLET_OK: return staticString("ok")
    case SWIFTLET_ERROR_INVALID_ARGUMENT: return staticString("invalid argument")
    case SWIFTLET_ERROR_IO: return staticString("I/O error")
    case SWIFTLET_ERROR_INVALID_FILE: return staticString("invalid file")
    case SWIFTLET_ERROR_UNSUPPORTED: return staticString("unsupported")
    case SWIFTLET_ERROR_NOT_FOUND: return staticString("not found")
    case SWIFTLET_ERROR_BUFFER_TOO_SMALL: return staticString("buffer too small")
    case SWIFTLET_ERROR_CONTEXT_FULL: return staticString("context full")
    case SWIFTLET_ERROR_CANCELLED: return staticString("cancelled")
    case SWIFTLET_ERROR_OUT_OF_MEMORY: return staticString("out of memory")
    case SWIFTLET_ERROR_TEMPLATE: return staticString("chat template error")
    case SWIFTLET_ERROR_INTERNAL: return staticString("internal error")
    case SWIFTLET_ERROR_BUSY: return staticString("context busy")
    default: return staticString("unknown status")
    }
}

@c @implementation
public func swiftlet_last_error() -> UnsafePointer<CChar>! {
    LastError.current ?? staticString("")
}

@c @implementation
public func swiftlet_version() -> UnsafePointer<CChar>! {
    // Kept equal to SWIFTLET_VERSION_STRING; the C API test checks the two agree.
    staticString("0.6.0")
}

@c @implementation
public func swiftlet_version_number() -> Int32 {
    Int32(SWIFTLET_VERSION_MAJOR * 1_000_000 + SWIFTLET_VERSION_MINOR * 1_000 + SWIFTLET_VERSION_PATCH)
}

/// A pointer to a string literal's static storage (valid for the process's lifetime).
func staticString(_ string: StaticString) -> UnsafePointer<CChar> {
    UnsafeRawPointer(string.utf8Start).assumingMemoryBound(to: CChar.self)
}
