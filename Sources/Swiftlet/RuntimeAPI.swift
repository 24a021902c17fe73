import CSwiftlet
import Glibc
import SwiftletCore
import Synchronization

@c @implementation
public func swiftlet_memory_get_info(_ info: UnsafeMutablePointer<swiftlet_memory_info>?) -> swiftlet_status {
    withStatus {
        let value = swiftlet_memory_info(
            struct_size: UInt32(MemoryLayout<swiftlet_memory_info>.size), reserved: 0, allocator: Arena.allocatorName,
            bytes_allocated: Arena.bytesAllocated, bytes_mapped: GGUFFile.bytesMapped)
        try writeInfo(value, to: info, "info")
    }
}

/// The installed log callback. The library logs nothing on its own threads'
/// hot paths; messages are rare, so a lock is fine.
private let logSink = Mutex<(callback: swiftlet_log_callback?, userData: UInt)>((nil, 0))

@c @implementation
public func swiftlet_set_log_callback(_ callback: swiftlet_log_callback?, _ user_data: UnsafeMutableRawPointer?) {
    logSink.withLock { $0 = (callback, UInt(bitPattern: user_data)) }
}

/// Sends one message to the host's log callback, if any.
func log(_ level: Int32, _ message: String) {
    let (callback, userData) = logSink.withLock { ($0.callback, $0.userData) }
    guard let callback else { return }
    message.withCString { callback(level, $0, UnsafeMutableRawPointer(bitPattern: userData)) }
}

/// Built once, on first use (Swift globals initialize thread-safely), never
/// written again and never freed: static storage for the C caller.
nonisolated(unsafe) private let systemInfo: UnsafeMutablePointer<CChar> = strdup("swiftlet 0.6.0; " + SystemInfo.description)

@c @implementation
public func swiftlet_system_info() -> UnsafePointer<CChar>! {
    UnsafePointer(systemInfo)
}
