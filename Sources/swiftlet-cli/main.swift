// swiftlet — the command-line face of the engine: generate, chat, embed,
// tokenize, inspect, quantize GGUF models, convert Hugging Face folders and
// measure perplexity (Perplexity.swift). It uses SwiftletCore directly.
import Glibc
import SwiftletCore

let usage = """
    usage: swiftlet <command> [options]

    commands:
      generate MODEL PROMPT [-n TOKENS] [--temp T] [--seed S] [--threads N] [--raw]
                   [--grammar FILE | --json-schema FILE]
                   stream a reply (the model's chat template) or, with --raw or
                   a model without a template (a base model), a continuation;
                   --grammar: only text of the GBNF grammar in FILE (llama.cpp's
                   format, start rule root), --json-schema: only JSON valid
                   against the JSON Schema in FILE
      chat MODEL [-n TOKENS] [--threads N] [--grammar FILE | --json-schema FILE]
                   chat on stdin, one user message per line (each reply
                   constrained by the grammar or schema, if given)
      tokenize MODEL TEXT [--special] [--bos]
                   print the token ids and pieces of TEXT
      inspect MODEL
                   print the metadata and tensors of a GGUF file (or of a
                   Hugging Face folder, as `convert` would write them)
      quantize INPUT OUTPUT [--type q8_0|q4_0|q4_1|q5_0|q5_1]
                   write a copy of a GGUF model (or of a Hugging Face folder)
                   with its matrices in that block type (default q8_0; norms
                   and biases stay F32)
      convert FOLDER OUTPUT.gguf
                   write a Hugging Face checkpoint folder (BERT) as the GGUF
                   llama.cpp's converter writes, tensors in their stored types
      embed MODEL TEXT... [--pooling mean|cls|last] [--raw] [--threads N]
                   print one embedding per TEXT (one line of floats each;
                   L2-normalized unless --raw)
      perplexity MODEL FILE [--ctx N] [--overflow shift|window|chunks] [--keep K]
                   [--discard D] [--batch B] [--threads N]
                   perplexity of the text in FILE through an N-token context
                   (default 512): one context that shifts when full, keeping K
                   "attention sink" tokens (default 4; window: none), or
                   independent N-token windows (chunks)

    """

/// Options after the positional arguments of a command.
struct Options {
    var positional: [String] = []
    var flags: [String: String] = [:]
    var switches: Set<String> = []

    /// Parses `arguments` against what the command accepts; anything else
    /// (a mistyped option, a stray argument) is an error, not ignored.
    init(_ arguments: ArraySlice<String>, positional count: ClosedRange<Int>, valued: Set<String> = [],
         switches allowed: Set<String> = []) throws {
        var iterator = arguments.makeIterator()
        while let argument = iterator.next() {
            if valued.contains(argument) {
                guard let value = iterator.next() else { throw SwiftletError.invalidArgument("\(argument) needs a value") }
                flags[argument] = value
            } else if allowed.contains(argument) {
                switches.insert(argument)
            } else if argument.hasPrefix("-") && argument.count > 1 {
                throw SwiftletError.invalidArgument("unknown option \(argument)")
            } else {
                positional.append(argument)
            }
        }
        guard count.contains(positional.count) else {
            throw SwiftletError.invalidArgument("expected \(count.lowerBound == count.upperBound ? "\(count.lowerBound)" : "\(count.lowerBound) to \(count.upperBound)") arguments, got \(positional.count)")
        }
    }

    func integer(_ name: String, default fallback: Int) throws -> Int {
        guard let text = flags[name] else { return fallback }
        guard let value = Int(text) else { throw SwiftletError.invalidArgument("\(name) expects an integer, not '\(text)'") }
        return value
    }

    func real(_ name: String, default fallback: Float) throws -> Float {
        guard let text = flags[name] else { return fallback }
        guard let value = Float(text) else { throw SwiftletError.invalidArgument("\(name) expects a number, not '\(text)'") }
        return value
    }
}

/// Unbuffered writes to a file descriptor: streamed text appears at once.
func write(_ text: String, to descriptor: Int32 = STDOUT_FILENO) {
    var text = text
    text.withUTF8 { bytes in
        var offset = 0
        while offset < bytes.count {
            let written = Glibc.write(descriptor, bytes.baseAddress! + offset, bytes.count - offset)
            if written <= 0 { return }
            offset += written
        }
    }
}

func writeError(_ text: String) { write(text + "\n", to: STDERR_FILENO) }

func makeContext(_ options: Options) throws -> InferenceContext {
    let path = options.positional[0]  // Options checked the count
    let threads = try options.integer("--threads", default: 0)
    let model = try LanguageModel(path: path, loadThreads: threads == 0 ? processorCount() : threads)
    return try InferenceContext(model: model, capacity: 0, threads: threads, batchCapacity: 0)
}

/// The grammar of --grammar FILE (GBNF) or --json-schema FILE, or nil. A
/// file that cannot be read or does not compile is an error naming the file
/// (and, from the compiler, the rule and line:column or the schema keyword).
func grammar(_ options: Options) throws -> Grammar? {
    switch (options.flags["--grammar"], options.flags["--json-schema"]) {
    case (nil, nil):
        return nil
    case (.some, .some):
        throw SwiftletError.invalidArgument("--grammar and --json-schema cannot be used together")
    case (let path?, nil):
        let text = try readOption(path, for: "--grammar")
        do { return try Grammar(gbnf: text) } catch { throw SwiftletError.invalidArgument("\(path): \(error.message)") }
    case (nil, let path?):
        let text = String(decoding: try readOption(path, for: "--json-schema"), as: UTF8.self)
        do { return try Grammar(jsonSchema: text) } catch { throw SwiftletError.invalidArgument("\(path): \(error.message)") }
    }
}

func readOption(_ path: String, for option: String) throws -> [UInt8] {
    guard let bytes = readFile(path) else { throw SwiftletError(.io, "\(option): cannot read \(path)") }
    return bytes
}

/// A new sampler for each reply: a grammar's parse starts over with it.
func sampler(_ options: Options, grammar: Grammar?) throws -> Sampler {
    var settings = SamplerSettings()
    settings.temperature = try options.real("--temp", default: 0)
    settings.seed = UInt64(try options.integer("--seed", default: 0))
    settings.grammar = grammar
    return try Sampler(settings: settings)
}

/// Streams a reply to stdout; returns the reply's text.
@discardableResult
func stream(_ context: InferenceContext, prompt: [Int32], maxTokens: Int, sampler: Sampler) throws -> String {
    var reply: [UInt8] = []
    let outcome = try generate(in: context, prompt: prompt, maxTokens: maxTokens, sampler: sampler) { text, _ in
        reply.append(contentsOf: text)
        write(String(decoding: text, as: UTF8.self))
        return true
    }
    write("\n")
    if let error = outcome.error { throw error }
    return String(decoding: reply, as: UTF8.self)
}

func chatPrompt(_ context: InferenceContext, _ messages: [ChatMessage]) throws -> [Int32] {
    try context.rewindToSharedPrefix(of: context.model.chatTokens(messages))  // evaluate only what it does not hold yet
}

func runGenerate(_ options: Options) throws {
    let constraint = try grammar(options)  // before the model loads: a bad file fails fast
    let context = try makeContext(options)
    let prompt = options.positional[1]
    let maxTokens = try options.integer("-n", default: 256)
    let tokens: [Int32]
    if options.switches.contains("--raw") || !context.model.hasOwnChatTemplate {
        write(prompt)
        tokens = context.model.tokenizer.encode(Array(prompt.utf8), addBOS: context.model.tokenizer.addBOS, parseSpecial: false)
    } else {
        tokens = try chatPrompt(context, [ChatMessage(role: "user", content: prompt)])
    }
    try stream(context, prompt: tokens, maxTokens: maxTokens, sampler: try sampler(options, grammar: constraint))
}

func runChat(_ options: Options) throws {
    let constraint = try grammar(options)
    let context = try makeContext(options)
    let maxTokens = try options.integer("-n", default: 256)
    var messages: [ChatMessage] = []
    writeError("(one message per line; end with Ctrl-D)")
    while let line = readLine() {
        guard !line.isEmpty else { continue }
        messages.append(ChatMessage(role: "user", content: line))
        let reply = try stream(context, prompt: try chatPrompt(context, messages), maxTokens: maxTokens,
                               sampler: try sampler(options, grammar: constraint))
        messages.append(ChatMessage(role: "assistant", content: reply))
    }
}

func runTokenize(_ options: Options) throws {
    let model = try LanguageModel(path: options.positional[0], loadThreads: processorCount())
    let ids = model.tokenizer.encode(Array(options.positional[1].utf8), addBOS: options.switches.contains("--bos"),
                                     parseSpecial: options.switches.contains("--special"))
    for id in ids {
        let bytes = model.tokenizer.tokenBytes(id) ?? []
        write("\(id)\t\(escaped(bytes))\n")
    }
}

/// Token bytes shown with invisible characters escaped, e.g. "\n" and "\x0a".
func escaped(_ bytes: [UInt8]) -> String {
    var out = ""
    for scalar in String(decoding: bytes, as: UTF8.self).unicodeScalars {
        switch scalar {
        case "\n": out += "\\n"
        case "\t": out += "\\t"
        case " ": out += "␣"
        default: out.unicodeScalars.append(scalar)
        }
    }
    return out
}

func runInspect(_ options: Options) throws {
    let path = options.positional[0]
    let file = try openModelFile(path)
    let kind = (file as? GGUFFile).map { "GGUF version \($0.version)" } ?? "Hugging Face folder, as GGUF"
    write("\(kind), \(file.metadataKeys.count) metadata keys, \(file.tensors.count) tensors\n\n")
    for key in file.metadataKeys {
        var value = file.metadata(key)!.rendered()
        if value.utf8.count > 160 { value = String(value.prefix(157)) + "..." }
        write("\(key) = \(value)\n")
    }
    write("\n")
    for tensor in file.tensors {
        write("\(tensor.name)\t\(tensor.type.name)\t\(tensor.dimensions)\t\(tensor.byteCount) bytes\n")
    }
}

func runQuantize(_ options: Options) throws {
    let typeName = options.flags["--type"] ?? "q8_0"
    guard let type = QuantizedModelType(named: typeName) else {
        throw SwiftletError.invalidArgument("--type expects one of "
            + QuantizedModelType.allCases.map(\.rawValue).joined(separator: ", ") + ", not '\(typeName)'")
    }
    try quantizeModel(inputPath: options.positional[0], outputPath: options.positional[1], to: type)
}

func runConvert(_ options: Options) throws {
    guard HuggingFaceFolder.isFolder(options.positional[0]) else {
        throw SwiftletError.invalidArgument("\(options.positional[0]) is not a folder (config.json, *.safetensors, tokenizer.json)")
    }
    try quantizeModel(inputPath: options.positional[0], outputPath: options.positional[1], to: nil)
}

func runEmbed(_ options: Options) throws {
    let context = try makeContext(options)
    let pooling: TransformerConfig.Pooling
    switch options.flags["--pooling"] {
    case nil: pooling = context.model.config.pooling
    case "mean": pooling = .mean
    case "cls": pooling = .first
    case "last": pooling = .last
    case let other?: throw SwiftletError.invalidArgument("--pooling expects mean, cls or last, not '\(other)'")
    }
    let texts = options.positional.dropFirst()
    let width = context.model.config.embeddingLength
    var vectors = [Float](repeating: 0, count: texts.count * width)
    try vectors.withUnsafeMutableBufferPointer { out in
        try context.embed(texts.map { context.model.embeddingTokens(Array($0.utf8)) }, pooling: pooling,
                          normalize: !options.switches.contains("--raw"), into: out.baseAddress!)
    }
    for row in 0..<texts.count {
        write(vectors[row * width..<(row + 1) * width].map { "\($0)" }.joined(separator: " ") + "\n")
    }
}

let arguments = CommandLine.arguments
guard arguments.count >= 2 else {
    writeError(usage)
    exit(2)
}
do {
    let rest = arguments.dropFirst(2)
    let sampling: Set<String> = ["-n", "--temp", "--seed", "--threads", "--grammar", "--json-schema"]
    switch arguments[1] {
    case "generate": try runGenerate(try Options(rest, positional: 2...2, valued: sampling, switches: ["--raw"]))
    case "chat": try runChat(try Options(rest, positional: 1...1, valued: sampling))
    case "tokenize": try runTokenize(try Options(rest, positional: 2...2, switches: ["--special", "--bos"]))
    case "inspect": try runInspect(try Options(rest, positional: 1...1))
    case "quantize": try runQuantize(try Options(rest, positional: 2...2, valued: ["--type"]))
    case "convert": try runConvert(try Options(rest, positional: 2...2))
    case "embed": try runEmbed(try Options(rest, positional: 2...Int(Int32.max), valued: ["--pooling", "--threads"],
                                           switches: ["--raw"]))
    case "perplexity":
        try runPerplexity(try Options(rest, positional: 2...2, valued: ["--ctx", "--overflow", "--keep", "--discard",
                                                                        "--batch", "--threads"]))
    case "help", "-h", "--help": write(usage)
    default:
        writeError("unknown command '\(arguments[1])'\n\n" + usage)
        exit(2)
    }
} catch let error as SwiftletError {
    writeError("swiftlet: \(error.message)")
    exit(1)
}
