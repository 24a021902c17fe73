/// Reports how far a model load has come, from 0 to 1, to a host's progress
/// callback; the host's "no" cancels the load (`.cancelled`). Everything built
/// so far is released as the thrown error unwinds, so a cancelled load leaks nothing.
public struct LoadProgress {
    private let report: ((Double) -> Bool)?

    /// `report` returns false to cancel; nil reports nothing.
    public init(_ report: ((Double) -> Bool)? = nil) { self.report = report }

    func callAsFunction(_ fraction: Double) throws {
        if let report, !report(min(max(fraction, 0), 1)) {
            throw SwiftletError(.cancelled, "loading was cancelled by the progress callback")
        }
    }
}
