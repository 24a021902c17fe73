// Test support: reads just the tokenizer metadata of a GGUF file (the real
// GGUF reader lives elsewhere in SwiftletCore; the check stays standalone).
#if canImport(Glibc)
import Glibc
#endif

struct GGUFTokenizerMetadata {
    var tokens: [String] = []
    var tokenTypes: [Int32]?
    var merges: [String] = []
    var model = ""
    var pre: String?
    var bosID: Int32?
    var eosID: Int32?
    var eotID: Int32?
    var addBOS = false
}

enum GGUFMetadataError: Error { case io(String), format(String) }

/// Reads the metadata key/value section sequentially through a FILE*.
struct GGUFMetadataReader {
    private let file: UnsafeMutablePointer<FILE>

    static func read(path: String) throws -> GGUFTokenizerMetadata {
        guard let file = fopen(path, "rb") else { throw GGUFMetadataError.io("cannot open \(path)") }
        defer { fclose(file) }
        return try GGUFMetadataReader(file: file).readTokenizer()
    }

    private init(file: UnsafeMutablePointer<FILE>) { self.file = file }

    private func bytes(_ count: Int) throws -> [UInt8] {
        var buffer = [UInt8](repeating: 0, count: count)
        let got = buffer.withUnsafeMutableBytes { fread($0.baseAddress, 1, count, file) }
        guard got == count else { throw GGUFMetadataError.format("truncated file") }
        return buffer
    }

    private func integer<T: FixedWidthInteger>(_: T.Type) throws -> T {
        let raw = try bytes(MemoryLayout<T>.size)
        var value: T = 0
        for (index, byte) in raw.enumerated() { value |= T(truncatingIfNeeded: byte) << (8 * index) }
        return value
    }

    private func string() throws -> String {
        let length = Int(try integer(UInt64.self))
        return String(decoding: try bytes(length), as: UTF8.self)
    }

    private enum Value { case int(Int64), bool(Bool), string(String), strings([String]), ints([Int64]), other }

    private func scalar(type: UInt32) throws -> Value {
        switch type {
        case 0: return .int(Int64(try integer(UInt8.self)))
        case 1: return .int(Int64(try integer(Int8.self)))
        case 2: return .int(Int64(try integer(UInt16.self)))
        case 3: return .int(Int64(try integer(Int16.self)))
        case 4: return .int(Int64(try integer(UInt32.self)))
        case 5: return .int(Int64(try integer(Int32.self)))
        case 6: _ = try bytes(4); return .other
        case 7: return .bool(try integer(UInt8.self) != 0)
        case 8: return .string(try string())
        case 10: return .int(Int64(try integer(UInt64.self)))
        case 11: return .int(try integer(Int64.self))
        case 12: _ = try bytes(8); return .other
        default: throw GGUFMetadataError.format("unknown value type \(type)")
        }
    }

    private func value(type: UInt32) throws -> Value {
        guard type == 9 else { return try scalar(type: type) }
        let elementType = try integer(UInt32.self)
        let count = Int(try integer(UInt64.self))
        var strings: [String] = []
        var ints: [Int64] = []
        for _ in 0..<count {
            switch try value(type: elementType) {
            case .string(let text): strings.append(text)
            case .int(let number): ints.append(number)
            default: break
            }
        }
        return elementType == 8 ? .strings(strings) : .ints(ints)
    }

    private func readTokenizer() throws -> GGUFTokenizerMetadata {
        guard try bytes(4) == Array("GGUF".utf8) else { throw GGUFMetadataError.format("not GGUF") }
        _ = try integer(UInt32.self)  // version
        _ = try integer(UInt64.self)  // tensor count
        let keyCount = try integer(UInt64.self)
        var meta = GGUFTokenizerMetadata()
        for _ in 0..<keyCount {
            let key = try string()
            let value = try value(type: try integer(UInt32.self))
            switch (key, value) {
            case ("tokenizer.ggml.tokens", .strings(let list)): meta.tokens = list
            case ("tokenizer.ggml.merges", .strings(let list)): meta.merges = list
            case ("tokenizer.ggml.token_type", .ints(let list)): meta.tokenTypes = list.map { Int32($0) }
            case ("tokenizer.ggml.model", .string(let text)): meta.model = text
            case ("tokenizer.ggml.pre", .string(let text)): meta.pre = text
            case ("tokenizer.ggml.bos_token_id", .int(let id)): meta.bosID = Int32(id)
            case ("tokenizer.ggml.eos_token_id", .int(let id)): meta.eosID = Int32(id)
            case ("tokenizer.ggml.eot_token_id", .int(let id)): meta.eotID = Int32(id)
            case ("tokenizer.ggml.add_bos_token", .bool(let flag)): meta.addBOS = flag
            default: break
            }
        }
        return meta
    }
}

/// The whole contents of a (small) file.
func readWholeFile(_ path: String) throws -> [UInt8] {
    guard let file = fopen(path, "rb") else { throw GGUFMetadataError.io("cannot open \(path)") }
    defer { fclose(file) }
    var result: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 1 << 16)
    while true {
        let got = chunk.withUnsafeMutableBytes { fread($0.baseAddress, 1, $0.count, file) }
        if got == 0 { break }
        result.append(contentsOf: chunk[0..<got])
    }
    return result
}

/// Monotonic time in seconds.
func now() -> Double {
    var spec = timespec()
    clock_gettime(CLOCK_MONOTONIC, &spec)
    return Double(spec.tv_sec) + Double(spec.tv_nsec) * 1e-9
}
