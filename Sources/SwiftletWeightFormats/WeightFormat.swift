/// The block formats weight matrices are computed in, all ggml layouts, so
/// such tensors of a GGUF file are used straight from the memory mapping.
/// This is the one place their byte layouts are spelled (with BlockLayouts
/// for the formats with more than a scale and values): the engine and every
/// kernel module (portable, AVX2, AVX-512) read them from here.
///
/// Two families, by the activations they are multiplied with:
///  - 32-value blocks (q8_0, q4_1, q4_0, q5_0, q5_1, iq4_nl), each starting
///    with its fp16 scale d, times activations in 32-value int8 blocks with an
///    fp32 scale and d·Σq per block (QuantizedActivations in SwiftletCore);
///  - 256-value super-blocks (the k-quants q2_K…q6_K and iq4_xs), times
///    activations in 256-value blocks as ggml's Q8_K (SuperBlockActivationLayout):
///    the arithmetic llama.cpp uses for them, which keeps agreement tight.
///
/// The 32-value blocks:
///  - q8_0: d, 32 int8 q; value = d·q (34 bytes)
///  - q4_1: d, fp16 minimum m, 16 bytes of nibbles; value = d·q + m (20 bytes)
///  - q4_0: d, 16 bytes of nibbles; value = d·(q − 8) (18 bytes)
///  - q5_0, q5_1: q4_0 / q4_1 with a fifth bit per value (Q5_0Layout, Q5_1Layout)
///  - iq4_nl: q4_0's nibbles as indexes into iq4NonLinearLevels (18 bytes)
/// Nibbles: byte i holds value i in its low half and value i + 16 in its high half.
/// Computing on the 4-bit blocks directly (rather than converting them to
/// 8-bit at load) halves the bytes streamed per generated token.
///
/// The members are @inlinable so that a kernel in another module sees them
/// as constants (a block stride of 34 folds into the address arithmetic).
public enum WeightFormat: Int32, Sendable, CaseIterable {
    case q8_0, q4_1, q4_0, q5_0, q5_1, iq4_nl
    case q2_K, q3_K, q4_K, q5_K, q6_K, iq4_xs

    /// Values per 32-value block (ggml's QK8_0) and per activation block of QuantizedActivations.
    @inlinable public static var valuesPerBlock: Int { 32 }
    /// Values per super-block (ggml's QK_K).
    @inlinable public static var valuesPerSuperBlock: Int { 256 }

    /// Whether this format comes in 256-value super-blocks (times Q8_K-shaped activations).
    @inlinable public var usesSuperBlocks: Bool {
        switch self {
        case .q8_0, .q4_1, .q4_0, .q5_0, .q5_1, .iq4_nl: return false
        case .q2_K, .q3_K, .q4_K, .q5_K, .q6_K, .iq4_xs: return true
        }
    }

    /// Values per block of this format: 32 or 256.
    @inlinable public var blockLength: Int { usesSuperBlocks ? Self.valuesPerSuperBlock : Self.valuesPerBlock }

    @inlinable public var bytesPerBlock: Int {
        switch self {
        case .q8_0: return 34
        case .q4_1: return 20
        case .q4_0: return 18
        case .q5_0: return 22
        case .q5_1: return 24
        case .iq4_nl: return 18
        case .q2_K: return 84
        case .q3_K: return 110
        case .q4_K: return 144
        case .q5_K: return 176
        case .q6_K: return 210
        case .iq4_xs: return 136
        }
    }

    /// Where a 32-value block's quantized values (or nibbles) start: after d
    /// (and m for q4_1). The other formats spell theirs in BlockLayouts.
    @inlinable public var valuesOffset: Int {
        switch self {
        case .q8_0, .q4_0, .iq4_nl: return 2
        case .q4_1: return 4
        case .q5_0: return Q5_0Layout.nibbles
        case .q5_1: return Q5_1Layout.nibbles
        case .q2_K, .q3_K, .q4_K, .q5_K, .q6_K, .iq4_xs: return 0
        }
    }

    /// Where q4_1's (and q5_1's) fp16 minimum m sits in its block.
    @inlinable public static var minimumOffset: Int { 2 }

    /// Bytes of one row of `columns` values (`columns` a multiple of blockLength).
    @inlinable @inline(__always)
    public func rowByteCount(columns: Int) -> Int { columns / blockLength * bytesPerBlock }
}
