// What the test drivers (gguf-inspect, tokenizer-check, safetensors-inspect)
// share: their JSON-lines output, error lines, file and hex helpers.
import Glibc
import SwiftletCore

/// The C header's name of a status, as the drivers' error lines print it.
public func statusName(_ kind: SwiftletError.Kind) -> String {
    switch kind {
    case .invalidArgument: return "SWIFTLET_ERROR_INVALID_ARGUMENT"
    case .io: return "SWIFTLET_ERROR_IO"
    case .invalidFile: return "SWIFTLET_ERROR_INVALID_FILE"
    case .unsupported: return "SWIFTLET_ERROR_UNSUPPORTED"
    case .notFound: return "SWIFTLET_ERROR_NOT_FOUND"
    case .bufferTooSmall: return "SWIFTLET_ERROR_BUFFER_TOO_SMALL"
    case .contextFull: return "SWIFTLET_ERROR_CONTEXT_FULL"
    case .cancelled: return "SWIFTLET_ERROR_CANCELLED"
    case .outOfMemory: return "SWIFTLET_ERROR_OUT_OF_MEMORY"
    case .template: return "SWIFTLET_ERROR_TEMPLATE"
    case .internal: return "SWIFTLET_ERROR_INTERNAL"
    case .busy: return "SWIFTLET_ERROR_BUSY"
    }
}

/// `text` as a JSON string literal.
public func quoted(_ text: String) -> String {
    var out: [UInt8] = [0x22]
    for byte in text.utf8 {
        switch byte {
        case 0x22, 0x5C: out += [0x5C, byte]
        case 0x0A: out += Array("\\n".utf8)
        case 0x0D: out += Array("\\r".utf8)
        case 0x09: out += Array("\\t".utf8)
        case 0..<0x20:
            let hex = Array("0123456789abcdef".utf8)
            out += Array("\\u00".utf8) + [hex[Int(byte >> 4)], hex[Int(byte & 15)]]
        default: out.append(byte)
        }
    }
    out.append(0x22)
    return String(decoding: out, as: UTF8.self)
}

/// Seconds on the monotonic clock.
public func now() -> Double {
    var time = timespec()
    clock_gettime(CLOCK_MONOTONIC, &time)
    return Double(time.tv_sec) + Double(time.tv_nsec) / 1e9
}

public func readBytes(_ path: String) throws -> [UInt8] {
    guard let file = fopen(path, "rb") else { throw SwiftletError.io("cannot open \(path)") }
    defer { fclose(file) }
    var bytes: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 1 << 16)
    while true {
        let n = fread(&chunk, 1, chunk.count, file)
        if n == 0 { break }
        bytes.append(contentsOf: chunk[0..<n])
    }
    return bytes
}

public func writeBytes(_ path: String, _ bytes: UnsafeRawBufferPointer) throws {
    guard let file = fopen(path, "wb") else { throw SwiftletError.io("cannot create \(path)") }
    defer { fclose(file) }
    guard bytes.isEmpty || fwrite(bytes.baseAddress, 1, bytes.count, file) == bytes.count else {
        throw SwiftletError.io("short write \(path)")
    }
}

public func hex(_ bytes: [UInt8]) -> String {
    let digits = Array("0123456789abcdef".utf8)
    return String(decoding: bytes.flatMap { [digits[Int($0 >> 4)], digits[Int($0 & 15)]] }, as: UTF8.self)
}

/// The bytes of lowercase hex text, nil if it is not.
public func fromHex(_ text: ArraySlice<UInt8>) -> [UInt8]? {
    func value(_ digit: UInt8) -> UInt8? {
        switch digit {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return digit - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return digit - UInt8(ascii: "a") + 10
        default: return nil
        }
    }
    guard text.count % 2 == 0 else { return nil }
    var bytes: [UInt8] = []
    var index = text.startIndex
    while index < text.endIndex {
        guard let high = value(text[index]), let low = value(text[index + 1]) else { return nil }
        bytes.append(high << 4 | low)
        index += 2
    }
    return bytes
}

/// Runs a driver's command; any error becomes one JSON error line and exit status 1.
public func runDriver(_ run: ([String]) throws -> Void) -> Never {
    do {
        try run(CommandLine.arguments)
        exit(0)
    } catch let error as SwiftletError {
        print("{\"error\": \"\(statusName(error.kind))\", \"message\": \(quoted(error.message))}")
        exit(1)
    } catch {
        print("{\"error\": \"other\", \"message\": \(quoted("\(error)"))}")
        exit(1)
    }
}
