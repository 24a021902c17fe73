import CSwiftletSupport

/// A private allocation arena (a jemalloc arena in the shipped build). A
/// model owns one for the weights it converts at load; a context owns one for
/// its KV cache and scratch. Freeing every buffer and then the arena returns
/// its pages to the system.
public final class Arena: @unchecked Sendable {
    let index: sla_arena

    public init() throws {
        var index: sla_arena = 0
        guard sla_arena_create(&index) == 0 else { throw SwiftletError(.outOfMemory, "could not create a memory arena") }
        self.index = index
    }

    deinit { sla_arena_destroy(index) }

    /// Name of the allocator behind every arena, e.g. "jemalloc 5.3.0 (private)".
    public static var allocatorName: UnsafePointer<CChar> { sla_allocator_name() }

    /// Bytes currently held by all arenas of the process.
    public static var bytesAllocated: UInt64 { sla_bytes_allocated() }
}

/// `count` values of `Element` from an arena, 64-byte aligned (a cache line,
/// and enough for any SIMD load). Freed with the buffer; keeps its arena alive.
/// Uninitialized memory: callers only store trivial types (Float, Int8, ...).
public final class ArenaBuffer<Element>: @unchecked Sendable {
    public let pointer: UnsafeMutablePointer<Element>
    public let count: Int
    private let byteCount: Int
    private let arena: Arena

    public init(count: Int, in arena: Arena) throws {
        let (bytes, overflow) = count.multipliedReportingOverflow(by: MemoryLayout<Element>.stride)
        guard count >= 0, !overflow, let raw = sla_allocate(arena.index, bytes, 64) else {
            throw SwiftletError(.outOfMemory, "could not allocate \(count) × \(MemoryLayout<Element>.stride) bytes")
        }
        self.pointer = raw.bindMemory(to: Element.self, capacity: count)
        self.count = count
        self.byteCount = bytes
        self.arena = arena
    }

    deinit { sla_free(pointer, byteCount) }
}
