// `swiftlet perplexity`: how well a model predicts a long text when its
// context is smaller than the text, the measurement behind
// SWIFTLET_OVERFLOW_SHIFT (StreamingLLM, Xiao et al. 2023).
import Glibc
import SwiftletCore

/// How the text runs through a context smaller than itself.
enum PerplexityMode: String {
    /// Independent windows of n_ctx tokens, each from an empty context: the
    /// usual in-window measurement (each token sees only its window's earlier tokens).
    case chunks
    /// One context that shifts when full, keeping `--keep` sink tokens.
    case shift
    /// The same without sinks: only recent tokens are kept (n_keep 0).
    case window
}

func runPerplexity(_ options: Options) throws {
    let path = options.positional[0]
    let threads = try options.integer("--threads", default: 0)
    let capacity = try options.integer("--ctx", default: 512)
    let batch = try options.integer("--batch", default: 64)
    guard let mode = PerplexityMode(rawValue: options.flags["--overflow"] ?? "shift") else {
        throw SwiftletError.invalidArgument("--overflow expects shift, window or chunks")
    }
    let keep = mode == .window ? 0 : try options.integer("--keep", default: 4)
    let discard = try options.integer("--discard", default: 0)
    guard capacity > 1, batch > 0 else { throw SwiftletError.invalidArgument("--ctx must be > 1 and --batch > 0") }

    let model = try LanguageModel(path: path, loadThreads: threads == 0 ? processorCount() : threads)
    guard let text = readFile(options.positional[1]) else {
        throw SwiftletError(.io, "cannot read \(options.positional[1])")
    }
    let tokens = text.withUnsafeBufferPointer {
        model.tokenizer.encode($0, addBOS: model.tokenizer.addBOS, parseSpecial: false)
    }
    guard tokens.count > 1 else { throw SwiftletError.invalidArgument("the text has fewer than 2 tokens") }
    let overflow: OverflowPolicy = mode == .chunks ? .error : .shift(keep: keep, discard: discard)
    let context = try InferenceContext(model: model, capacity: capacity, threads: threads,
                                       batchCapacity: min(batch, capacity), overflow: overflow)
    var score = NegativeLogLikelihood()
    let start = monotonicSeconds()
    if mode == .chunks {
        var first = 0
        while first < tokens.count - 1 {
            let window = Array(tokens[first..<min(first + capacity, tokens.count)])
            context.reset()
            try score.add(context, window)
            first += capacity
        }
    } else {
        try score.add(context, tokens)
    }
    let seconds = monotonicSeconds() - start
    let setting = mode == .chunks ? "independent windows" : "\(mode.rawValue), n_keep \(keep)"
    write("perplexity \(formatted(score.perplexity)) over \(score.count) tokens (n_ctx \(capacity), \(setting); "
          + "\(tokens.count) tokens in the text, \(formatted(Double(tokens.count) / seconds)) tokens/s)\n")
}

/// Σ −log p(next token) over the tokens scored so far.
struct NegativeLogLikelihood {
    private(set) var sum = 0.0
    private(set) var count = 0

    var perplexity: Double { exp(sum / Double(max(count, 1))) }

    /// Evaluates `tokens` after what `context` holds, `batchCapacity` at a
    /// time (the context shifts as its policy says), scoring each token's
    /// prediction of the next.
    mutating func add(_ context: InferenceContext, _ tokens: [Int32]) throws {
        let vocabulary = context.model.config.vocabularySize
        var logits = [Float](repeating: 0, count: context.batchCapacity * vocabulary)
        var first = 0
        while first < tokens.count - 1 {
            let end = min(first + context.batchCapacity, tokens.count - 1)
            try tokens[first..<end].withUnsafeBufferPointer { batch in
                try logits.withUnsafeMutableBufferPointer { try context.evaluate(batch, allLogits: $0.baseAddress!) }
            }
            for (row, next) in tokens[(first + 1)...end].enumerated() {
                let scores = logits[(row * vocabulary)..<((row + 1) * vocabulary)]
                let largest = Double(scores.max()!)
                let total = scores.reduce(0.0) { $0 + exp(Double($1) - largest) }
                sum += largest + log(total) - Double(scores[scores.startIndex + Int(next)])
                count += 1
            }
            first = end
        }
    }
}

func readFile(_ path: String) -> [UInt8]? {
    guard let file = fopen(path, "rb") else { return nil }
    defer { fclose(file) }
    var bytes: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 1 << 16)
    while true {
        let read = fread(&chunk, 1, chunk.count, file)
        if read <= 0 { break }
        bytes.append(contentsOf: chunk[..<read])
    }
    return ferror(file) == 0 ? bytes : nil
}

func monotonicSeconds() -> Double {
    var now = timespec()
    clock_gettime(CLOCK_MONOTONIC, &now)
    return Double(now.tv_sec) + Double(now.tv_nsec) / 1e9
}

func formatted(_ value: Double) -> String {
    let hundredths = (value * 100).rounded()
    return "\(Int(hundredths) / 100).\(String(Int(hundredths) % 100 + 100).dropFirst())"
}
