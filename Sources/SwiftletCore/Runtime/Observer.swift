/// What an observer asks to see of each forward pass.
public struct ObservationKinds: OptionSet, Sendable {
    public let rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }

    /// Each layer's output (the residual stream after its block): tokens × n_embd.
    public static let hidden = ObservationKinds(rawValue: 1)
    /// Each layer's residual stream after attention, before the feed-forward
    /// block: tokens × n_embd.
    public static let afterAttention = ObservationKinds(rawValue: 2)
    /// Each layer's attention weights (the softmax output): heads × tokens × positions.
    public static let attention = ObservationKinds(rawValue: 4)
    /// The final hidden state after the final norm, what the head multiplies
    /// (the "logit lens" input): tokens × n_embd.
    public static let final = ObservationKinds(rawValue: 8)

    public static let all: ObservationKinds = [.hidden, .afterAttention, .attention, .final]
}

/// One read-only view handed to an observer: `heads × tokens.count ×
/// columns` floats, row-major, valid only during the call.
public struct Observation {
    /// One of the ObservationKinds.
    public let kind: ObservationKinds
    /// The layer, 0-based; the layer count for `.final`.
    public let layer: Int
    /// The sequence these tokens continue. In a packed encoder pass
    /// (embeddings of several texts at once), the text's index in the pass.
    public let sequence: Int
    /// The tokens' indices in the pass.
    public let tokens: Range<Int>
    /// The position of the first of them in its sequence (the others follow).
    public let startPosition: Int
    /// 1, or the head count for `.attention`.
    public let heads: Int
    /// n_embd, or for `.attention` the positions 0..<columns of the sequence
    /// (startPosition + tokens.count): row t holds token t's weight on each
    /// position, 0 where it does not attend (later positions, positions
    /// outside a sliding window).
    public let columns: Int
    public let values: UnsafePointer<Float>
}

/// A callback that sees a context's forward passes as they run (the issue's
/// "look inside"). It is called on the evaluating thread, between the steps
/// of a pass, with the kinds it asked for; returning false stops the pass
/// (the call returns CANCELLED). A context without an observer pays nothing:
/// the forward pass checks for one once per step.
public final class Observer {
    public let kinds: ObservationKinds
    private let body: (Observation) -> Bool
    /// Attention weights of one run (heads × tokens × positions), grown as needed.
    var attentionWeights: [Float] = []
    /// One key/value head's keys as fp32 (positions × head dimension), grown as needed.
    var expandedKeys: [Float] = []
    /// One head's scores (tokens × positions seen), grown as needed.
    var scores: [Float] = []

    public init(kinds: ObservationKinds, _ body: @escaping (Observation) -> Bool) {
        self.kinds = kinds
        self.body = body
    }

    /// Hands `observation` to the callback; throws CANCELLED if it says stop.
    func deliver(_ observation: Observation) throws {
        guard body(observation) else { throw SwiftletError(.cancelled, "the observer stopped the evaluation") }
    }
}
