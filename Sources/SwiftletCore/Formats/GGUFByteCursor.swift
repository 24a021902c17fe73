/// A forward reader over the bytes of a GGUF file that checks every read
/// against the end of the file. Every failure is a SwiftletError(.invalidFile)
/// that says what was being read and at which byte offset; callers add which
/// key or tensor it belonged to. GGUF is little-endian.
struct GGUFByteCursor {
    let bytes: UnsafeRawBufferPointer
    private(set) var offset: Int = 0

    init(_ bytes: UnsafeRawBufferPointer) {
        self.bytes = bytes
    }

    var remaining: Int { bytes.count - offset }

    /// Takes the next `count` bytes.
    mutating func take(_ count: Int, _ what: StaticString) throws(SwiftletError) -> UnsafeRawBufferPointer {
        guard count >= 0, count <= remaining else {
            throw .invalidFile("truncated file: \(what) at byte \(offset) needs \(count) bytes, "
                + "but only \(remaining) remain (file size \(bytes.count))")
        }
        let slice = UnsafeRawBufferPointer(rebasing: bytes[offset..<(offset + count)])
        offset += count
        return slice
    }

    mutating func uint8(_ what: StaticString) throws(SwiftletError) -> UInt8 {
        try take(1, what)[0]
    }

    mutating func uint32(_ what: StaticString) throws(SwiftletError) -> UInt32 {
        UInt32(littleEndian: try take(4, what).loadUnaligned(as: UInt32.self))
    }

    mutating func uint64(_ what: StaticString) throws(SwiftletError) -> UInt64 {
        UInt64(littleEndian: try take(8, what).loadUnaligned(as: UInt64.self))
    }

    /// A uint64 count or size that must also fit in Int; larger values can
    /// never describe something inside the file.
    mutating func count(_ what: StaticString) throws(SwiftletError) -> Int {
        let start = offset
        let raw = try uint64(what)
        guard let value = Int(exactly: raw) else {
            throw .invalidFile("\(what) at byte \(start) is \(raw), far larger than the file (\(bytes.count) bytes)")
        }
        return value
    }

    /// A GGUF string: uint64 byte length, then UTF-8 bytes (no terminator).
    /// Invalid UTF-8 is repaired with U+FFFD rather than rejected.
    mutating func string(_ what: StaticString) throws(SwiftletError) -> String {
        let start = offset
        let length = try uint64(what)
        guard length <= UInt64(remaining) else {
            throw .invalidFile("truncated file: \(what) at byte \(start) has length \(length), "
                + "but only \(remaining) bytes remain (file size \(bytes.count))")
        }
        return String(decoding: try take(Int(length), what), as: UTF8.self)
    }

    /// `count` packed little-endian integers. `count` must already have been
    /// checked against the remaining bytes (the caller's message is better).
    mutating func integers<T: FixedWidthInteger>(_ count: Int, as: T.Type, _ what: StaticString) throws(SwiftletError) -> [T] {
        let stride = MemoryLayout<T>.size
        guard count >= 0, count <= remaining / stride else {
            throw .invalidFile("truncated file: \(count) \(what) at byte \(offset) need \(count)×\(stride) bytes, "
                + "but only \(remaining) remain (file size \(bytes.count))")
        }
        let raw = try take(count * stride, what)
        return [T](unsafeUninitializedCapacity: count) { buffer, initialized in
            for index in 0..<count {
                buffer[index] = T(littleEndian: raw.loadUnaligned(fromByteOffset: index * stride, as: T.self))
            }
            initialized = count
        }
    }
}
