import Glibc

/// A context's state as bytes, and back: each saved sequence's tokens, last
/// logits and KV rows, so that evaluation continues after a load exactly as
/// if it had never stopped (in this process or another).
///
/// The format, little-endian throughout:
///
///     "SWLTSTAT"  u32 format version  u32 library version (SWIFTLET_VERSION_NUMBER)
///     u64 model identity (LanguageModel.identity)
///     u32 layers  u32 key/value heads  u32 head dimension  u32 vocabulary
///     u32 flags (1: every sequence of the context)  u32 sequence count
///     per sequence:  u32 id  u32 tokens  u32 flags (1: logits follow)  i32 tokens[]  [f32 logits[vocabulary]]
///                    per layer: u32 first position held (0; or on a sliding-window layer the oldest it keeps)
///                               per key/value head: keys then values of the positions held, fp16 rows
///     u64 checksum (StableHasher) of every byte before it
///
/// A load checks everything (length, magic, checksum, format version, model,
/// shapes, room) before it changes anything.
extension InferenceContext {
    static let stateMagic: [UInt8] = Array("SWLTSTAT".utf8)
    static let stateFormatVersion: UInt32 = 1
    private static let allSequencesFlag: UInt32 = 1
    private static let logitsFlag: UInt32 = 1

    /// The bytes `saveState(sequence:)` writes now (nil: every sequence).
    public func stateSize(sequence: Int?) throws -> Int {
        // magic, versions, identity, shapes, flags and count, checksum; then the sequences
        try savedSequences(sequence).reduce(8 + 2 * 4 + 8 + 4 * 4 + 2 * 4 + 8) { size, s in
            size + sequenceStateSize(s)
        }
    }

    /// `sequence`'s state, or with nil every sequence's; `libraryVersion` is recorded in the header.
    public func saveState(sequence: Int?, libraryVersion: UInt32) throws -> [UInt8] {
        let saved = try savedSequences(sequence)
        let size = try stateSize(sequence: sequence)
        var out = StateWriter(capacity: size)
        out.append(Self.stateMagic)
        out.append(Self.stateFormatVersion)
        out.append(libraryVersion)
        out.append(model.identity)
        let c = model.config
        for value in [c.layerCount, c.kvHeadCount, c.headDimension, c.vocabularySize] { out.append(UInt32(value)) }
        out.append(sequence == nil ? Self.allSequencesFlag : 0)
        out.append(UInt32(saved.count))
        for s in saved {
            let tokens = sequences[s].tokens
            out.append(UInt32(s))
            out.append(UInt32(tokens.count))
            let logits = logits(of: s)
            out.append(logits == nil ? 0 : Self.logitsFlag)
            tokens.withUnsafeBytes { out.append($0) }
            if let logits { out.append(UnsafeRawBufferPointer(logits)) }
            for layer in 0..<c.layerCount {
                let held = cache.heldPositions(layer: layer, sequence: s, length: tokens.count)
                out.append(UInt32(held.lowerBound))
                for head in 0..<c.kvHeadCount {
                    for position in held {
                        let key = cache.rows(layer: layer, kvHead: head, sequence: s, position: position).key
                        out.append(UnsafeRawBufferPointer(start: key, count: 2 * c.headDimension))
                    }
                    for position in held {
                        let value = cache.rows(layer: layer, kvHead: head, sequence: s, position: position).value
                        out.append(UnsafeRawBufferPointer(start: value, count: 2 * c.headDimension))
                    }
                }
            }
        }
        out.appendChecksum()
        precondition(out.bytes.count == size, "stateSize disagrees with saveState")
        return out.bytes
    }

    /// Restores a state saved by `saveState`. With `sequence` nil, every
    /// sequence it holds goes back to the id it was saved from (and a state
    /// of the whole context empties the sequences it does not hold); with an
    /// id, the state must hold one sequence, which goes there. Throws (the
    /// context unchanged) `.invalidFile` for a truncated or corrupted state,
    /// `.unsupported` for a newer format, `.invalidArgument` for another
    /// model's state or ids the context does not have, `.contextFull` for a
    /// sequence longer than the context.
    public func loadState(_ bytes: UnsafeRawBufferPointer, into sequence: Int?) throws {
        let state = try ParsedState(bytes, for: self)
        if let sequence {
            try checkSequence(sequence)
            guard state.sequences.count == 1, !state.wholeContext else {
                throw SwiftletError.invalidArgument(
                    "the state holds \(state.wholeContext ? "a whole context" : "\(state.sequences.count) sequences"); "
                    + "load it without a sequence id")
            }
        }
        for saved in state.sequences where sequence == nil {
            try checkSequence(saved.id, "the state's sequence id")
        }
        // Checked; now apply.
        batchLogitRows.removeAll()
        if state.wholeContext { reset() }
        let vocabulary = model.config.vocabularySize, d = model.config.headDimension
        for saved in state.sequences {
            let s = sequence ?? saved.id
            clear(sequence: s)
            sequences[s].tokens = saved.tokens
            if let logits = saved.logits {
                (UnsafeMutableRawPointer(sequenceLogits.pointer + s * vocabulary))
                    .copyMemory(from: logits.baseAddress!, byteCount: logits.count)
                sequences[s].logitsValid = true
            }
            var oldest = 0
            for (layer, rows) in saved.layers.enumerated() {
                // A ring smaller than the saved rows takes the last ones (at least the window).
                let stored = cache.storablePositions(layer: layer, of: rows.held)
                oldest = max(oldest, stored.lowerBound)
                for head in 0..<model.config.kvHeadCount {
                    let keys = rows.data.baseAddress! + 2 * head * rows.held.count * 2 * d
                    let values = keys + rows.held.count * 2 * d
                    for position in stored {
                        let i = position - rows.held.lowerBound
                        cache.write(layer: layer, kvHead: head, sequence: s, position: position,
                                    key: keys + i * 2 * d, value: values + i * 2 * d)
                    }
                }
            }
            cache.setOldestHeldPosition(oldest, sequence: s)
        }
    }

    /// `saveState` into the file at `path`, written whole to a temporary
    /// file beside it and renamed over it, so a failed save never leaves a
    /// half-written state where a good one was.
    public func saveState(sequence: Int?, libraryVersion: UInt32, toFile path: String) throws {
        let bytes = try saveState(sequence: sequence, libraryVersion: libraryVersion)
        let temporary = path + ".partial"
        guard let file = fopen(temporary, "wb") else {
            throw SwiftletError(.io, "cannot write \(temporary): \(String(cString: strerror(errno)))")
        }
        let written = bytes.withUnsafeBytes { fwrite($0.baseAddress, 1, $0.count, file) }
        let closed = fclose(file) == 0
        guard written == bytes.count, closed, rename(temporary, path) == 0 else {
            let reason = String(cString: strerror(errno))
            unlink(temporary)
            throw SwiftletError(.io, "cannot write \(path): \(reason)")
        }
    }

    /// `loadState` from the file at `path`.
    public func loadState(fromFile path: String, into sequence: Int?) throws {
        let file = try ReadOnlyMappedFile(path: path)
        try loadState(file.bytes, into: sequence)
    }

    private func savedSequences(_ sequence: Int?) throws -> [Int] {
        guard let sequence else { return Array(0..<sequenceCount) }
        try checkSequence(sequence)
        return [sequence]
    }

    private func sequenceStateSize(_ s: Int) -> Int {
        let c = model.config, length = length(of: s)
        var size = 3 * 4 + 4 * length + (logits(of: s) == nil ? 0 : 4 * c.vocabularySize)
        for layer in 0..<c.layerCount {
            size += 4 + 2 * c.kvHeadCount * cache.heldPositions(layer: layer, sequence: s, length: length).count
                * 2 * c.headDimension
        }
        return size
    }
}

/// A state's bytes, checked against a context and split into its parts
/// (views into the bytes).
private struct ParsedState {
    struct Sequence {
        var id: Int
        var tokens: [Int32]
        var logits: UnsafeRawBufferPointer?
        /// Per layer: the positions held, and their rows (keys of each head, then values).
        var layers: [(held: Range<Int>, data: UnsafeRawBufferPointer)]
    }

    var wholeContext = false
    var sequences: [Sequence] = []

    init(_ bytes: UnsafeRawBufferPointer, for context: InferenceContext) throws {
        let magic = InferenceContext.stateMagic
        guard bytes.count >= magic.count, Array(bytes[..<magic.count]) == magic else {
            throw SwiftletError.invalidFile("this is not a Swiftlet context state (no SWLTSTAT magic)")
        }
        guard bytes.count >= magic.count + 8 + 8 else { throw SwiftletError.invalidFile("the state is truncated") }
        let body = UnsafeRawBufferPointer(rebasing: bytes[..<(bytes.count - 8)])
        var hasher = StableHasher()
        hasher.combine(body)
        guard hasher.value == bytes.loadUnaligned(fromByteOffset: bytes.count - 8, as: UInt64.self) else {
            throw SwiftletError.invalidFile("the state is truncated or corrupted (its checksum does not match)")
        }
        var r = StateReader(bytes: body, offset: magic.count)
        let version = try r.u32()
        guard version <= InferenceContext.stateFormatVersion else {
            throw SwiftletError.unsupported("the state's format version \(version) is newer than this library's "
                                            + "\(InferenceContext.stateFormatVersion)")
        }
        let libraryVersion = try r.u32()
        let c = context.model.config
        guard try r.u64() == context.model.identity else {
            let version = "\(libraryVersion / 1_000_000).\(libraryVersion / 1000 % 1000).\(libraryVersion % 1000)"
            throw SwiftletError.invalidArgument("the state was saved from another model (by Swiftlet \(version)); "
                                                + "this context's model is \(context.model.name)")
        }
        for (name, value) in [("layers", c.layerCount), ("key/value heads", c.kvHeadCount),
                              ("head dimension", c.headDimension), ("vocabulary", c.vocabularySize)] {
            let saved = try r.u32()
            guard saved == value else {
                throw SwiftletError.invalidFile("the state's \(name) \(saved) is not the model's \(value)")
            }
        }
        wholeContext = try r.u32() & 1 != 0
        let count = Int(try r.u32())
        guard count <= InferenceContext.maximumSequences else {
            throw SwiftletError.invalidFile("the state holds \(count) sequences")
        }
        let rowBytes = 2 * c.headDimension
        for _ in 0..<count {
            let id = Int(try r.u32())
            let length = Int(try r.u32())
            guard length <= context.capacity else {
                throw SwiftletError(.contextFull, "the state's sequence \(id) holds \(length) tokens; "
                                    + "the context has room for \(context.capacity)")
            }
            let hasLogits = try r.u32() & 1 != 0
            let tokens = try r.bytes(4 * length)
            let ids = (0..<length).map { tokens.loadUnaligned(fromByteOffset: 4 * $0, as: Int32.self) }
            guard ids.allSatisfy({ $0 >= 0 && Int($0) < c.vocabularySize }) else {
                throw SwiftletError.invalidFile("the state's sequence \(id) has a token outside the vocabulary")
            }
            let logits = hasLogits ? try r.bytes(4 * c.vocabularySize) : nil
            var layers: [(Range<Int>, UnsafeRawBufferPointer)] = []
            for layer in 0..<c.layerCount {
                let first = Int(try r.u32())
                let windowed = c.window(layer: layer) != nil
                guard first <= length, windowed || first == 0 else {
                    throw SwiftletError.invalidFile("the state's layer \(layer) starts at position \(first) of \(length)")
                }
                let held = first..<length
                if let window = c.window(layer: layer), length - first < min(length, window - 1) {
                    throw SwiftletError.invalidFile("the state's layer \(layer) holds less than its window")
                }
                layers.append((held, try r.bytes(2 * c.kvHeadCount * held.count * rowBytes)))
            }
            sequences.append(Sequence(id: id, tokens: ids, logits: logits, layers: layers))
        }
        guard r.offset == body.count else {
            throw SwiftletError.invalidFile("the state has \(body.count - r.offset) bytes after its last sequence")
        }
    }
}

private struct StateReader {
    let bytes: UnsafeRawBufferPointer
    var offset: Int

    mutating func bytes(_ count: Int) throws -> UnsafeRawBufferPointer {
        guard count >= 0, count <= bytes.count - offset else { throw SwiftletError.invalidFile("the state is truncated") }
        defer { offset += count }
        return UnsafeRawBufferPointer(rebasing: bytes[offset..<offset + count])
    }

    mutating func u32() throws -> UInt32 { try bytes(4).loadUnaligned(as: UInt32.self) }
    mutating func u64() throws -> UInt64 { try bytes(8).loadUnaligned(as: UInt64.self) }
}

private struct StateWriter {
    var bytes: [UInt8]

    init(capacity: Int) {
        bytes = []
        bytes.reserveCapacity(capacity)
    }

    mutating func append(_ raw: UnsafeRawBufferPointer) { bytes.append(contentsOf: raw) }
    mutating func append(_ raw: [UInt8]) { bytes.append(contentsOf: raw) }
    mutating func append<T: FixedWidthInteger>(_ value: T) {
        withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) }
    }

    mutating func appendChecksum() {
        var hasher = StableHasher()
        bytes.withUnsafeBytes { hasher.combine($0) }
        append(hasher.value)
    }
}
