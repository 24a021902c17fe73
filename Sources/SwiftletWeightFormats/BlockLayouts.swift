// Byte offsets inside the blocks of the formats that hold more than a scale
// and values (WeightFormat), as ggml lays them out. "d" and "dmin" are
// little-endian IEEE halves; nothing is aligned. How the bits of each field
// map to values is spelled out beside its decoder in SwiftletCore
// (Formats/BlockDecoding.swift), which is checked bit for bit against gguf.quants.

/// Q5_0, 22 bytes: d, qh (a uint32: bit j is bit 4 of value j), nibbles as q4_0.
/// value = d·(q − 16).
public enum Q5_0Layout {
    @inlinable public static var fifthBits: Int { 2 }
    @inlinable public static var nibbles: Int { 6 }
}

/// Q5_1, 24 bytes: d, m, qh, nibbles. value = d·q + m.
public enum Q5_1Layout {
    @inlinable public static var fifthBits: Int { 4 }
    @inlinable public static var nibbles: Int { 8 }
}

/// Q2_K, 84 bytes: 16 scale bytes (low nibble scale, high nibble min, per 16
/// values), 64 bytes of 2-bit values, d, dmin. value = d·scale·q − dmin·min.
public enum Q2_KLayout {
    @inlinable public static var scales: Int { 0 }
    @inlinable public static var values: Int { 16 }
    @inlinable public static var d: Int { 80 }
    @inlinable public static var dmin: Int { 82 }
}

/// Q3_K, 110 bytes: hmask (bit 2 of each value, clear = subtract 4), 64 bytes
/// of low 2 bits (as Q2_K), 12 bytes of sixteen 6-bit scales stored +32, d.
/// value = d·(scale − 32)·q.
public enum Q3_KLayout {
    @inlinable public static var highBits: Int { 0 }
    @inlinable public static var values: Int { 32 }
    @inlinable public static var scales: Int { 96 }
    @inlinable public static var d: Int { 108 }
}

/// Q4_K, 144 bytes: d, dmin, 12 bytes of eight 6-bit scales and mins (per 32
/// values), 128 bytes of nibbles. value = d·scale·q − dmin·min.
public enum Q4_KLayout {
    @inlinable public static var d: Int { 0 }
    @inlinable public static var dmin: Int { 2 }
    @inlinable public static var scales: Int { 4 }
    @inlinable public static var nibbles: Int { 16 }
}

/// Q5_K, 176 bytes: Q4_K with 32 bytes of fifth bits before the nibbles.
public enum Q5_KLayout {
    @inlinable public static var d: Int { 0 }
    @inlinable public static var dmin: Int { 2 }
    @inlinable public static var scales: Int { 4 }
    @inlinable public static var fifthBits: Int { 16 }
    @inlinable public static var nibbles: Int { 48 }
}

/// Q6_K, 210 bytes: 128 bytes of low nibbles, 64 bytes of high 2 bits,
/// sixteen int8 scales (per 16 values), d. value = d·scale·(q − 32).
public enum Q6_KLayout {
    @inlinable public static var lowBits: Int { 0 }
    @inlinable public static var highBits: Int { 128 }
    @inlinable public static var scales: Int { 192 }
    @inlinable public static var d: Int { 208 }
}

/// IQ4_XS, 136 bytes: d, scales_h (uint16, top two bits of each 6-bit scale),
/// scales_l (4 bytes of low nibbles), 128 bytes of iq4_nl nibbles (16 per 32
/// values). value = d·(scale − 32)·iq4NonLinearLevels[q].
public enum IQ4_XSLayout {
    @inlinable public static var d: Int { 0 }
    @inlinable public static var scalesHigh: Int { 2 }
    @inlinable public static var scalesLow: Int { 4 }
    @inlinable public static var nibbles: Int { 8 }
}

/// IQ4_NL's and IQ4_XS's 16 non-linear levels (ggml's kvalues_iq4nl): a nibble
/// q stands for iq4NonLinearLevels[q]. All fit int8, so products stay int8·int8.
@inlinable public var iq4NonLinearLevels: SIMD16<Int8> {
    SIMD16(-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113)
}

/// Activations for the super-block formats, ggml's Q8_K split into three
/// arrays. Per token row of `columns` values (a multiple of 256), per
/// super-block b: 256 int8 values q (|q| ≤ 127) at values[256·b…], one fp32
/// scale d at scales[b] (value ≈ d·q; d may be negative, as ggml's), and 16
/// int16 sums of 16 consecutive q at sums[16·b…] (the min terms of
/// Q2_K/Q4_K/Q5_K and the offsets of Q3_K/Q6_K come from them). Rows follow
/// each other: token t's values at t·columns, scales at t·columns/256, sums at t·columns/16.
public enum SuperBlockActivationLayout {
    @inlinable public static var sumsPerBlock: Int { 16 }
}
