import Glibc

/// What a sampler does; the C API's swiftlet_sampler_params.
public struct SamplerSettings: Sendable, Equatable {
    public var temperature: Float = 0.8
    public var topK: Int = 40
    public var topP: Float = 0.95
    public var minP: Float = 0.05
    public var repeatPenalty: Float = 1.0
    public var repeatLastN: Int = 64
    public var seed: UInt64 = 0
    /// Only tokens that continue this grammar are sampled (nil: any token).
    public var grammar: Grammar?

    public init() {}

    public func validate() throws {
        func check(_ ok: Bool, _ message: String) throws {
            if !ok { throw SwiftletError.invalidArgument(message) }
        }
        try check(temperature.isFinite && temperature >= 0, "temperature must be finite and ≥ 0, not \(temperature)")
        try check(topK >= 0, "top_k must be ≥ 0, not \(topK)")
        try check(topP.isFinite && topP > 0 && topP <= 1, "top_p must be in (0, 1], not \(topP)")
        try check(minP.isFinite && minP >= 0 && minP <= 1, "min_p must be in [0, 1], not \(minP)")
        try check(repeatPenalty.isFinite && repeatPenalty > 0, "repeat_penalty must be finite and > 0, not \(repeatPenalty)")
        try check(repeatLastN >= 0, "repeat_last_n must be ≥ 0, not \(repeatLastN)")
    }
}

/// Picks tokens from logits: repetition penalty, then greedy (temperature 0)
/// or temperature → top-k → top-p → min-p → a draw from the seeded generator.
///
/// With a grammar, the pick is checked first and kept if the grammar allows
/// it; greedy sampling then tries the next 32 candidates in logit order; only
/// otherwise is the vocabulary masked to the allowed tokens and the chain run
/// again on those. For greedy sampling and temperature alone this
/// is exactly sampling from the masked logits (a rejected draw is redrawn
/// from the rest, in proportion); with top-k/top-p/min-p the truncation
/// sees the unmasked logits first, as in llama.cpp's common sampler.
public final class Sampler: @unchecked Sendable {
    public let settings: SamplerSettings
    private var random: RandomGenerator
    private var candidates: [(id: Int32, logit: Float)] = []
    private var scratch: [Float] = []
    private let constraint: GrammarConstraint?

    public init(settings: SamplerSettings) throws {
        try settings.validate()
        self.settings = settings
        random = RandomGenerator(seed: settings.seed)
        constraint = settings.grammar.map(GrammarConstraint.init)
    }

    /// Picks the next token of `tokenizer`'s vocabulary; with a grammar, also
    /// moves the grammar past it.
    public func sample(logits: UnsafeBufferPointer<Float>, recentTokens: ArraySlice<Int32>,
                       tokenizer: Tokenizer) throws(SwiftletError) -> Int32 {
        guard let constraint else { return choose(logits, recentTokens, allowed: nil) }
        try constraint.use(tokenizer)
        var token = choose(logits, recentTokens, allowed: nil)
        if try !constraint.allows(token) {
            if let runnerUp = try bestAllowedRunnerUp(constraint) {
                token = runnerUp
            } else {
                token = choose(logits, recentTokens, allowed: try constraint.allowedTokens())
            }
        }
        try constraint.accept(token)
        return token
    }

    /// Greedy only: the best of the next few candidates the grammar allows,
    /// which is the masked argmax (each is checked in logit order) without
    /// walking the vocabulary. Nil when none of them fits, or when sampling
    /// draws (a draw must see the masked distribution).
    private func bestAllowedRunnerUp(_ constraint: GrammarConstraint) throws(SwiftletError) -> Int32? {
        guard settings.temperature == 0 else { return nil }
        // The candidates are still all there, penalised, in id order.
        if candidates.count > Self.runnersUpChecked { keepTopK(Self.runnersUpChecked) }
        candidates.sort { $0.logit > $1.logit || ($0.logit == $1.logit && $0.id < $1.id) }
        for candidate in candidates where try constraint.allows(candidate.id) { return candidate.id }
        return nil
    }

    /// How many runners-up greedy sampling checks before it masks.
    private static let runnersUpChecked = 32

    /// Starts the grammar over (nothing to do without one).
    public func resetGrammar() {
        constraint?.reset()
    }

    /// The chain on the candidates in `allowed` (all, if nil). Greedy leaves
    /// the candidates as they were made: all of them, penalised, in id order.
    private func choose(_ logits: UnsafeBufferPointer<Float>, _ recentTokens: ArraySlice<Int32>,
                        allowed: TokenMask?) -> Int32 {
        candidates.removeAll(keepingCapacity: true)
        for (id, logit) in logits.enumerated() { candidates.append((Int32(id), logit)) }
        applyRepetitionPenalty(recentTokens.suffix(settings.repeatLastN))
        if let allowed { candidates.removeAll { !allowed.contains($0.id) } }
        if settings.temperature == 0 { return greedy() }
        for i in candidates.indices { candidates[i].logit /= settings.temperature }
        if settings.topK > 0 && settings.topK < candidates.count { keepTopK(settings.topK) }
        candidates.sort { $0.logit > $1.logit }
        var probabilities = softmaxOfCandidates()
        keepNucleus(&probabilities)
        keepAboveMinimum(&probabilities)
        return draw(probabilities)
    }

    /// Positive logits are divided by the penalty, negative ones multiplied
    /// (llama.cpp's rule), once per distinct recent token. Runs while the
    /// candidates are all there, in id order.
    private func applyRepetitionPenalty(_ recent: ArraySlice<Int32>) {
        guard settings.repeatPenalty != 1, !recent.isEmpty else { return }
        for token in Set(recent) where token >= 0 && Int(token) < candidates.count {
            let i = Int(token)
            let logit = candidates[i].logit
            candidates[i].logit = logit > 0 ? logit / settings.repeatPenalty : logit * settings.repeatPenalty
        }
    }

    /// Keeps the `k` highest logits, lowest ids first among equals (what a
    /// stable sort of the whole vocabulary, cut at k, keeps) without sorting
    /// the vocabulary: the k-th highest value is selected in linear time.
    private func keepTopK(_ k: Int) {
        scratch.removeAll(keepingCapacity: true)
        for candidate in candidates { scratch.append(candidate.logit) }
        let threshold = scratch.withUnsafeMutableBufferPointer { Self.select($0, rank: k - 1) }
        guard !threshold.isNaN else {  // NaN logits (a broken model) compare false: keep what a sort keeps
            candidates.sort { $0.logit > $1.logit }
            candidates.removeSubrange(k...)
            return
        }
        var above = 0
        for candidate in candidates where candidate.logit > threshold { above += 1 }
        var ties = k - above
        candidates.removeAll { candidate in
            if candidate.logit > threshold { return false }
            if candidate.logit == threshold && ties > 0 { ties -= 1; return false }
            return true
        }
    }

    /// The value at `rank` (0 = the largest) of `values`, which it reorders:
    /// quickselect with a median-of-three pivot and a three-way partition,
    /// so equal values (all-zero logits, say) cost one pass, not n.
    private static func select(_ values: UnsafeMutableBufferPointer<Float>, rank: Int) -> Float {
        var low = 0, high = values.count - 1
        while low < high {
            let a = values[low], b = values[low + (high - low) / 2], c = values[high]
            let pivot = max(min(a, b), min(max(a, b), c))
            // [low, above) > pivot, [above, below] == pivot, (below, high] < pivot
            var above = low, i = low, below = high
            while i <= below {
                if values[i] > pivot {
                    values.swapAt(above, i)
                    above += 1
                    i += 1
                } else if values[i] < pivot {
                    values.swapAt(i, below)
                    below -= 1
                } else {
                    i += 1
                }
            }
            if rank < above { high = above - 1 } else if rank > below { low = below + 1 } else { return pivot }
        }
        return values[low]
    }

    /// The highest logit; the lowest id wins a tie, so the choice is deterministic.
    private func greedy() -> Int32 {
        var best = 0
        for i in candidates.indices where candidates[i].logit > candidates[best].logit { best = i }
        return candidates[best].id
    }

    private func softmaxOfCandidates() -> [Float] {
        let largest = candidates[0].logit
        var probabilities = candidates.map { expf($0.logit - largest) }
        let total = probabilities.reduce(0, +)
        for i in probabilities.indices { probabilities[i] /= total }
        return probabilities
    }

    /// Keeps the smallest prefix (candidates are sorted) whose mass reaches top_p.
    private func keepNucleus(_ probabilities: inout [Float]) {
        guard settings.topP < 1 else { return }
        var mass: Float = 0
        for (i, p) in probabilities.enumerated() {
            mass += p
            if mass >= settings.topP {
                probabilities.removeSubrange((i + 1)...)
                candidates.removeSubrange((i + 1)...)
                return
            }
        }
    }

    /// Drops candidates less likely than min_p × the most likely one.
    private func keepAboveMinimum(_ probabilities: inout [Float]) {
        guard settings.minP > 0 else { return }
        let threshold = probabilities[0] * settings.minP
        let kept = probabilities.firstIndex { $0 < threshold } ?? probabilities.count
        probabilities.removeSubrange(max(kept, 1)...)
        candidates.removeSubrange(max(kept, 1)...)
    }

    private func draw(_ probabilities: [Float]) -> Int32 {
        let total = probabilities.reduce(0, +)
        var target = random.nextUnitFloat() * total
        for (i, p) in probabilities.enumerated() {
            target -= p
            if target < 0 { return candidates[i].id }
        }
        return candidates[probabilities.count - 1].id
    }
}

/// Grammars compare by identity: settings are equal when they share one.
extension Grammar: Equatable {
    public static func == (a: Grammar, b: Grammar) -> Bool { a === b }
}
