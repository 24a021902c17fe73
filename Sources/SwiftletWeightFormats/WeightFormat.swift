/// The block formats weight matrices are computed in, all ggml layouts, so
/// such tensors of a GGUF file are used straight from the memory mapping.
/// This is the one place their byte layouts are spelled: the engine and
/// every kernel module (portable, AVX2, AVX-512) read them from here.
///
/// Every block holds 32 consecutive values of a row and starts with its
/// fp16 scale d:
///  - q8_0: d, 32 int8 q; value = d·q (34 bytes)
///  - q4_1: d, fp16 minimum m, 16 bytes of nibbles; value = d·q + m (20 bytes)
///  - q4_0: d, 16 bytes of nibbles; value = d·(q − 8) (18 bytes)
/// Nibbles: byte i holds value i in its low half and value i + 16 in its high half.
/// Computing on the 4-bit blocks directly (rather than converting them to
/// 8-bit at load) halves the bytes streamed per generated token.
///
/// The members are @inlinable so that a kernel in another module sees them
/// as constants (a block stride of 34 folds into the address arithmetic).
public enum WeightFormat: Int32, Sendable, CaseIterable {
    case q8_0, q4_1, q4_0

    /// Values per block: ggml's QK.
    @inlinable public static var valuesPerBlock: Int { 32 }

    @inlinable public var bytesPerBlock: Int {
        switch self {
        case .q8_0: return 34
        case .q4_1: return 20
        case .q4_0: return 18
        }
    }

    /// Where the block's quantized values start: after d (and m for q4_1).
    @inlinable public var valuesOffset: Int {
        switch self {
        case .q8_0, .q4_0: return 2
        case .q4_1: return 4
        }
    }

    /// Where q4_1's fp16 minimum m sits in its block.
    @inlinable public static var minimumOffset: Int { 2 }

    /// Bytes of one row of `columns` values (`columns` a multiple of 32).
    @inlinable @inline(__always)
    public func rowByteCount(columns: Int) -> Int { columns / Self.valuesPerBlock * bytesPerBlock }
}
