// Test driver for the Hugging Face tokenizer.json reader (WordPiece) and its
// GGUF form. FILE is a tokenizer.json, or a GGUF (recognized by its magic),
// read with Tokenizer(huggingFace:) or Tokenizer(gguf:).
//   tokenizer-check encode FILE CASES      one JSON line per line "SPECIAL PARSE HEX" of CASES: the ids of the
//                                          text HEX with the model's framing ([CLS] … [SEP]) if SPECIAL is 1 and
//                                          special tokens written in the text recognized if PARSE is 1, and the
//                                          bytes the ids decode to piece by piece (control tokens silent) as hex
//   tokenizer-check info FILE              vocabulary size, BOS/EOS, the framing
//   tokenizer-check gguf-keys JSON OUT [N] a GGUF holding only Tokenizer.ggufMetadata(huggingFace:) of JSON
//                                          (N: token_type_count); prints the keys written
//   tokenizer-check time FILE CASES [N]    microseconds per case to encode CASES (best of N passes)
// Errors print {"error": "SWIFTLET_ERROR_...", "message": ...} and exit 1.
import Glibc
import DriverSupport
import SwiftletCore

func loadTokenizer(_ path: String) throws -> Tokenizer {
    let bytes = try readBytes(path)
    if bytes.starts(with: Array("GGUF".utf8)) { return try Tokenizer(gguf: GGUFFile(path: path)) }
    let json = try bytes.withUnsafeBytes { try JSONValue.parse($0, what: path) }
    return try Tokenizer(huggingFace: json)
}

struct Case {
    let addSpecial: Bool
    let parseSpecial: Bool
    let text: [UInt8]
}

func readCases(_ path: String) throws -> [Case] {
    try readBytes(path).split(separator: UInt8(ascii: "\n")).map { line in
        let fields = line.split(separator: UInt8(ascii: " "), omittingEmptySubsequences: false)
        guard fields.count == 3, let text = fromHex(fields[2]) else {
            throw SwiftletError.invalidArgument("a case line is \"SPECIAL PARSE HEX\"")
        }
        return Case(addSpecial: fields[0] == [UInt8(ascii: "1")], parseSpecial: fields[1] == [UInt8(ascii: "1")], text: text)
    }
}

func encode(_ tokenizer: Tokenizer, _ item: Case) -> [Int32] {
    item.text.withUnsafeBufferPointer { tokenizer.encode($0, addSpecial: item.addSpecial, parseSpecial: item.parseSpecial) }
}

func run(_ arguments: [String]) throws {
    guard arguments.count >= 3 else { throw SwiftletError.invalidArgument("usage: tokenizer-check encode|info|gguf-keys|time ...") }
    switch arguments[1] {
    case "encode":
        guard arguments.count == 4 else { throw SwiftletError.invalidArgument("encode FILE CASES") }
        let tokenizer = try loadTokenizer(arguments[2])
        for item in try readCases(arguments[3]) {
            let ids = encode(tokenizer, item)
            let pieces = ids.flatMap { tokenizer.pieceBytes($0) ?? [] }
            print("{\"ids\": \(ids), \"pieces_hex\": \"\(hex(pieces))\"}")
        }
    case "info":
        let tokenizer = try loadTokenizer(arguments[2])
        func json(_ id: Int32?) -> String { id.map { "\($0)" } ?? "null" }
        print("{\"vocab_size\": \(tokenizer.vocabularySize), \"bos\": \(json(tokenizer.bosID)), \"eos\": \(json(tokenizer.eosID)), "
              + "\"add_bos\": \(tokenizer.addBOS), \"add_eos\": \(tokenizer.addEOS), "
              + "\"prefix\": \(tokenizer.sequencePrefix), \"suffix\": \(tokenizer.sequenceSuffix)}")
    case "gguf-keys":
        guard arguments.count == 4 || arguments.count == 5 else { throw SwiftletError.invalidArgument("gguf-keys JSON OUT [N]") }
        let bytes = try readBytes(arguments[2])
        let json = try bytes.withUnsafeBytes { try JSONValue.parse($0, what: arguments[2]) }
        let count = arguments.count == 5 ? Int(arguments[4]) : nil
        var writer = GGUFWriter()
        writer.setMetadata("general.architecture", .string("bert"))
        let entries = try Tokenizer.ggufMetadata(huggingFace: json, tokenTypeCount: count)
        for (key, value) in entries { writer.setMetadata(key, value) }
        try writer.write(to: arguments[3]) { _, _, _ in }
        print("{\"keys\": [\(entries.map { quoted($0.0) }.joined(separator: ", "))]}")
    case "time":
        guard arguments.count >= 4 else { throw SwiftletError.invalidArgument("time FILE CASES [N]") }
        let tokenizer = try loadTokenizer(arguments[2])
        let cases = try readCases(arguments[3])
        let passes = arguments.count > 4 ? Int(arguments[4]) ?? 5 : 5
        var best = Double.infinity
        var total = 0
        for _ in 0..<passes {
            let start = now()
            for item in cases { total &+= encode(tokenizer, item).count }
            best = min(best, now() - start)
        }
        print("{\"cases\": \(cases.count), \"us_per_case\": \(best * 1e6 / Double(max(cases.count, 1))), \"ids\": \(total)}")
    default:
        throw SwiftletError.invalidArgument("unknown command \(arguments[1])")
    }
}

runDriver(run)
