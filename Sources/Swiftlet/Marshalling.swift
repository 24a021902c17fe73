import CSwiftlet
import Glibc
import SwiftletCore

// Moving data across the boundary: versioned params/info structs, caller
// buffers with size reporting, C strings.

/// Reads a caller's params struct that begins with `uint32_t struct_size`.
/// Fields beyond the caller's struct_size (an older caller) keep `defaults`;
/// fields beyond ours (a newer caller) are ignored.
func readParams<T>(_ pointer: UnsafePointer<T>?, defaults: T, _ name: String) throws -> T {
    guard let pointer else { return defaults }
    let size = Int(UnsafeRawPointer(pointer).load(as: UInt32.self))
    guard size >= MemoryLayout<UInt32>.size else {
        throw SwiftletError.invalidArgument("\(name)->struct_size is \(size); call the *_params_init function first")
    }
    var result = defaults
    withUnsafeMutableBytes(of: &result) { destination in
        destination.copyMemory(from: UnsafeRawBufferPointer(start: pointer, count: min(size, destination.count)))
    }
    return result
}

/// Writes `value` into a caller's info struct, at most its struct_size bytes.
func writeInfo<T>(_ value: T, to pointer: UnsafeMutablePointer<T>?, _ name: String) throws {
    let pointer = try required(pointer, name)
    let size = Int(UnsafeRawPointer(pointer).load(as: UInt32.self))
    guard size >= MemoryLayout<UInt32>.size else {
        throw SwiftletError.invalidArgument("\(name)->struct_size is \(size); set it to sizeof the struct")
    }
    var copy = value
    withUnsafeBytes(of: &copy) { source in
        // Keep the caller's struct_size; write the fields after it.
        let count = min(size, source.count) - MemoryLayout<UInt32>.size
        UnsafeMutableRawPointer(pointer).advanced(by: MemoryLayout<UInt32>.size)
            .copyMemory(from: source.baseAddress! + MemoryLayout<UInt32>.size, byteCount: count)
    }
}

/// Copies `bytes` to a caller buffer (plus a NUL if `terminate`), reporting
/// the length (without NUL) in `outLength`; BUFFER_TOO_SMALL if it does not fit.
func copyOut<C: Collection>(_ bytes: C, to buffer: UnsafeMutablePointer<CChar>?, size: Int,
                            length outLength: UnsafeMutablePointer<Int>?, terminate: Bool) throws
    where C.Element == UInt8 {
    let needed = bytes.count + (terminate ? 1 : 0)
    outLength?.pointee = bytes.count
    guard size >= needed else {
        throw SwiftletError(.bufferTooSmall, "the buffer holds \(size) bytes; \(needed) are needed")
    }
    guard needed == 0 || buffer != nil else { throw SwiftletError.invalidArgument("buf is NULL but buf_size is \(size)") }
    guard let buffer else { return }
    let raw = UnsafeMutableRawPointer(buffer).assumingMemoryBound(to: UInt8.self)
    var i = 0
    for byte in bytes { raw[i] = byte; i += 1 }
    if terminate { raw[i] = 0 }
}

/// A C string argument as Swift bytes (not assumed to be valid UTF-8).
func bytesOf(_ string: UnsafePointer<CChar>) -> [UInt8] {
    let length = strlen(string)
    return Array(UnsafeRawBufferPointer(start: string, count: length))
}

/// A C string argument decoded as UTF-8 (invalid bytes become U+FFFD).
func stringOf(_ string: UnsafePointer<CChar>) -> String { String(decoding: bytesOf(string), as: UTF8.self) }

/// A heap copy of `string` as a C string, for pointers a handle hands out and frees itself.
final class OwnedCString {
    let pointer: UnsafeMutablePointer<CChar>
    init(_ string: String) { pointer = strdup(string) }
    deinit { free(pointer) }
}
