/// Turns a stream of token bytes into text that never contains a broken
/// character.
///
/// Why: one character may span several tokens (an emoji is often two or
/// three byte tokens), so emitting each token's bytes as they come would show
/// half characters. `push` returns only complete characters and holds back a
/// valid-but-unfinished sequence at the end until the next push completes it.
/// Bytes that can never form a character become U+FFFD (EF BF BD), one per
/// maximal ill-formed subpart, exactly as a whole-text decode would give.
public struct UTF8StreamDecoder: Sendable {
    /// A trailing valid prefix of a character (at most 3 bytes) kept for the
    /// next push.
    private var pending: [UInt8] = []

    public init() {}

    /// Whether bytes are being held back, waiting for the rest of a character.
    public var hasPendingBytes: Bool { !pending.isEmpty }

    /// Adds `bytes` and returns the complete, valid UTF-8 text now available.
    public mutating func push(_ bytes: [UInt8]) -> [UInt8] {
        bytes.withUnsafeBufferPointer { push($0) }
    }

    /// Adds `bytes` and returns the complete, valid UTF-8 text now available.
    public mutating func push(_ bytes: UnsafeBufferPointer<UInt8>) -> [UInt8] {
        var input = pending
        input.append(contentsOf: bytes)
        pending.removeAll(keepingCapacity: true)

        var output: [UInt8] = []
        output.reserveCapacity(input.count + 2)
        input.withUnsafeBufferPointer { buffer in
            // Find where an unfinished character starts (if any): only the
            // last three bytes can begin one.
            var end = buffer.count
            var index = max(0, buffer.count - 3)
            while index < buffer.count {
                if case .truncated = UTF8Decoding.step(buffer, at: index) {
                    end = index
                    break
                }
                index += 1
            }
            UTF8Decoding.appendRepairing(UnsafeBufferPointer(rebasing: buffer[0..<end]), to: &output)
            pending.append(contentsOf: buffer[end...])
        }
        return output
    }

    /// Ends the stream: held-back bytes, which can no longer be completed,
    /// become one U+FFFD. The decoder is empty afterwards and can be reused.
    public mutating func finish() -> [UInt8] {
        if pending.isEmpty { return [] }
        pending.removeAll(keepingCapacity: true)
        return UTF8Decoding.replacementCharacter
    }
}
