#if canImport(Glibc)
import Glibc
#endif

/// A buffered, write-only file for GGUFWriter. It writes to "<path>.partial"
/// and renames that over `path` only on `commit()`, so a failed or interrupted
/// write never leaves a half-written model under the final name, and writing
/// over a file that is currently memory-mapped (the input of a conversion)
/// does not pull the pages from under the mapping.
final class GGUFOutputFile {
    let path: String
    private let temporaryPath: String
    private var descriptor: Int32
    private var buffer: [UInt8] = []
    private static let bufferLimit = 1 << 20
    /// Bytes accepted so far (written or buffered).
    private(set) var position = 0

    init(path: String) throws(SwiftletError) {
        self.path = path
        temporaryPath = path + ".partial"
        descriptor = open(temporaryPath, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else { throw .io("cannot create '\(temporaryPath)': \(ggufErrnoText())") }
        buffer.reserveCapacity(Self.bufferLimit)
    }

    deinit {
        // Not committed: remove the partial file.
        if descriptor >= 0 {
            close(descriptor)
            unlink(temporaryPath)
        }
    }

    func append(_ bytes: UnsafeRawBufferPointer) throws(SwiftletError) {
        if buffer.count + bytes.count > Self.bufferLimit { try flush() }
        if bytes.count >= Self.bufferLimit {
            if let failure = writeAll(bytes) { throw failure }  // large tensor data: no copy into the buffer
        } else {
            buffer.append(contentsOf: bytes)
        }
        position += bytes.count
    }

    func append<T: FixedWidthInteger>(littleEndian value: T) throws(SwiftletError) {
        try flushIfFull()
        withUnsafeBytes(of: value.littleEndian) { buffer.append(contentsOf: $0) }
        position += MemoryLayout<T>.size
    }

    /// Integers packed back to back, little-endian.
    func append<T: FixedWidthInteger>(packed values: [T]) throws(SwiftletError) {
        try flushIfFull()
        for value in values {
            withUnsafeBytes(of: value.littleEndian) { buffer.append(contentsOf: $0) }
        }
        position += values.count * MemoryLayout<T>.size
    }

    /// A GGUF string: uint64 length, then the UTF-8 bytes.
    func append(string: String) throws(SwiftletError) {
        let utf8 = string.utf8
        try append(littleEndian: UInt64(utf8.count))
        buffer.append(contentsOf: utf8)
        position += utf8.count
    }

    /// Zero bytes up to the next multiple of `alignment`.
    func pad(to alignment: Int) throws(SwiftletError) {
        let padding = (alignment - position % alignment) % alignment
        try flushIfFull()
        buffer.append(contentsOf: repeatElement(0, count: padding))
        position += padding
    }

    /// Flushes, closes and moves the file to its final name.
    func commit() throws(SwiftletError) {
        try flush()
        let result = close(descriptor)
        descriptor = -1
        guard result == 0 else {
            unlink(temporaryPath)
            throw .io("cannot finish writing '\(temporaryPath)': \(ggufErrnoText())")
        }
        guard rename(temporaryPath, path) == 0 else {
            let text = ggufErrnoText()
            unlink(temporaryPath)
            throw .io("cannot rename '\(temporaryPath)' to '\(path)': \(text)")
        }
    }

    private func flushIfFull() throws(SwiftletError) {
        if buffer.count >= Self.bufferLimit { try flush() }
    }

    private func flush() throws(SwiftletError) {
        guard !buffer.isEmpty else { return }
        let failure = buffer.withUnsafeBytes { writeAll($0) }
        if let failure { throw failure }
        buffer.removeAll(keepingCapacity: true)
    }

    /// write(2) until everything is written, retrying on EINTR and short writes.
    /// Returns the error instead of throwing it, so it can run inside
    /// withUnsafeBytes (whose closure cannot throw a typed error).
    private func writeAll(_ bytes: UnsafeRawBufferPointer) -> SwiftletError? {
        var done = 0
        while done < bytes.count {
            let written = write(descriptor, bytes.baseAddress! + done, bytes.count - done)
            if written < 0 {
                if errno == EINTR { continue }
                return .io("cannot write '\(temporaryPath)': \(ggufErrnoText())")
            }
            done += written
        }
        return nil
    }
}
