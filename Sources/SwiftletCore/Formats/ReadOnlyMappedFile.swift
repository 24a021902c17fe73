#if canImport(Glibc)
import Glibc
#endif
import Synchronization

/// Bytes of all live mappings in the process (swiftlet_memory_get_info).
let mappedByteTotal = Atomic<Int>(0)

/// A whole regular file mapped read-only into memory. Mapping (rather than
/// reading) lets Q8_0 weights be used in place with no copy, and the pages are
/// shared with the page cache and other processes using the same file.
/// The mapping lives exactly as long as this object.
final class ReadOnlyMappedFile: @unchecked Sendable {  // immutable after init
    let path: String
    /// Start of the mapping; nil for an empty file (mmap cannot map 0 bytes).
    let base: UnsafeRawPointer?
    let byteCount: Int

    init(path: String) throws(SwiftletError) {
        self.path = path
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw .io("cannot open '\(path)': \(ggufErrnoText())") }
        // The descriptor is not needed once mapped: the mapping keeps the file alive.
        defer { close(fd) }

        var status = stat()
        guard fstat(fd, &status) == 0 else { throw .io("cannot stat '\(path)': \(ggufErrnoText())") }
        guard status.st_mode & S_IFMT == S_IFREG else { throw .io("'\(path)' is not a regular file") }
        guard let size = Int(exactly: status.st_size), size >= 0 else {
            throw .io("'\(path)' has an unusable size \(status.st_size)")
        }
        byteCount = size
        if size == 0 {
            base = nil
            return
        }
        let address = mmap(nil, size, PROT_READ, MAP_PRIVATE, fd, 0)
        guard let address, address != MAP_FAILED else {
            throw .io("cannot memory-map '\(path)' (\(size) bytes): \(ggufErrnoText())")
        }
        base = UnsafeRawPointer(address)
        mappedByteTotal.add(size, ordering: .relaxed)
    }

    deinit {
        if let base {
            munmap(UnsafeMutableRawPointer(mutating: base), byteCount)
            mappedByteTotal.subtract(byteCount, ordering: .relaxed)
        }
    }

    /// All bytes of the file (empty for an empty file).
    var bytes: UnsafeRawBufferPointer { UnsafeRawBufferPointer(start: base, count: byteCount) }
}

/// The text of the current errno, for .io messages.
func ggufErrnoText() -> String {
    let code = errno
    guard let text = strerror(code) else { return "errno \(code)" }
    return String(cString: text) + " (errno \(code))"
}
