/// The metadata value types of the GGUF format, with their on-disk ids.
public enum GGUFValueType: UInt32, Sendable, CaseIterable {
    case uint8 = 0, int8 = 1, uint16 = 2, int16 = 3, uint32 = 4, int32 = 5
    case float32 = 6, bool = 7, string = 8, array = 9, uint64 = 10, int64 = 11, float64 = 12

    /// The gguf spec's lowercase name, e.g. "uint32".
    public var name: String {
        switch self {
        case .uint8: return "uint8"
        case .int8: return "int8"
        case .uint16: return "uint16"
        case .int16: return "int16"
        case .uint32: return "uint32"
        case .int32: return "int32"
        case .float32: return "float32"
        case .bool: return "bool"
        case .string: return "string"
        case .array: return "array"
        case .uint64: return "uint64"
        case .int64: return "int64"
        case .float64: return "float64"
        }
    }

    /// Fewest bytes one value of this type can occupy on disk (a string is at
    /// least its 8-byte length, an array its 4-byte type and 8-byte count).
    /// Used to reject element counts that cannot fit in the file before looping.
    var minimumEncodedSize: Int {
        switch self {
        case .uint8, .int8, .bool: return 1
        case .uint16, .int16: return 2
        case .uint32, .int32, .float32: return 4
        case .uint64, .int64, .float64, .string: return 8
        case .array: return 12
        }
    }
}

/// One metadata value of a GGUF file.
public enum GGUFValue: Sendable, Equatable {
    case uint8(UInt8)
    case int8(Int8)
    case uint16(UInt16)
    case int16(Int16)
    case uint32(UInt32)
    case int32(Int32)
    case float32(Float)
    case bool(Bool)
    case string(String)
    case array(GGUFArray)
    case uint64(UInt64)
    case int64(Int64)
    case float64(Double)

    public var type: GGUFValueType {
        switch self {
        case .uint8: return .uint8
        case .int8: return .int8
        case .uint16: return .uint16
        case .int16: return .int16
        case .uint32: return .uint32
        case .int32: return .int32
        case .float32: return .float32
        case .bool: return .bool
        case .string: return .string
        case .array: return .array
        case .uint64: return .uint64
        case .int64: return .int64
        case .float64: return .float64
        }
    }

    /// Any integer type whose value fits in Int; nil for other types.
    public var asInt: Int? {
        switch self {
        case .uint8(let v): return Int(v)
        case .int8(let v): return Int(v)
        case .uint16(let v): return Int(v)
        case .int16(let v): return Int(v)
        case .uint32(let v): return Int(v)
        case .int32(let v): return Int(v)
        case .uint64(let v): return Int(exactly: v)
        case .int64(let v): return Int(exactly: v)
        default: return nil
        }
    }

    /// float32 or float64 (rounded to Float), or an integer converted to Float,
    /// since some converters write float hyperparameters as integers.
    public var asFloat: Float? {
        switch self {
        case .float32(let v): return v
        case .float64(let v): return Float(v)
        default: return asInt.map { Float($0) }
        }
    }

    /// float32 or float64, or an integer converted to Double.
    public var asDouble: Double? {
        switch self {
        case .float32(let v): return Double(v)
        case .float64(let v): return v
        default: return asInt.map { Double($0) }
        }
    }

    public var asString: String? {
        if case .string(let v) = self { return v }
        return nil
    }

    public var asBool: Bool? {
        if case .bool(let v) = self { return v }
        return nil
    }

    public var asArray: GGUFArray? {
        if case .array(let v) = self { return v }
        return nil
    }

    /// An array of strings.
    public var asStringArray: [String]? {
        if case .array(.string(let v)) = self { return v }
        return nil
    }

    /// An array of any integer type whose every element fits in Int32.
    public var asInt32Array: [Int32]? {
        if case .array(.int32(let v)) = self { return v }
        return asArray?.integers(as: Int32.self)
    }

    /// An array of any integer type whose every element fits in Int.
    public var asIntArray: [Int]? { asArray?.integers(as: Int.self) }

    /// An array of float32 or float64 values.
    public var asFloatArray: [Float]? {
        switch self {
        case .array(.float32(let v)): return v
        case .array(.float64(let v)): return v.map { Float($0) }
        default: return nil
        }
    }
}

/// A metadata array. GGUF arrays are homogeneous, so each element type keeps
/// its elements packed in a typed Swift array: memory stays proportional to
/// the file, and large arrays (a 49152-token vocabulary) parse quickly.
public enum GGUFArray: Sendable, Equatable {
    case uint8([UInt8])
    case int8([Int8])
    case uint16([UInt16])
    case int16([Int16])
    case uint32([UInt32])
    case int32([Int32])
    case float32([Float])
    case bool([Bool])
    case string([String])
    /// An array whose elements are arrays (each with its own element type).
    case array([GGUFArray])
    case uint64([UInt64])
    case int64([Int64])
    case float64([Double])

    public var elementType: GGUFValueType {
        switch self {
        case .uint8: return .uint8
        case .int8: return .int8
        case .uint16: return .uint16
        case .int16: return .int16
        case .uint32: return .uint32
        case .int32: return .int32
        case .float32: return .float32
        case .bool: return .bool
        case .string: return .string
        case .array: return .array
        case .uint64: return .uint64
        case .int64: return .int64
        case .float64: return .float64
        }
    }

    public var count: Int {
        switch self {
        case .uint8(let v): return v.count
        case .int8(let v): return v.count
        case .uint16(let v): return v.count
        case .int16(let v): return v.count
        case .uint32(let v): return v.count
        case .int32(let v): return v.count
        case .float32(let v): return v.count
        case .bool(let v): return v.count
        case .string(let v): return v.count
        case .array(let v): return v.count
        case .uint64(let v): return v.count
        case .int64(let v): return v.count
        case .float64(let v): return v.count
        }
    }

    /// The element at `index` as a GGUFValue, or nil if out of range.
    public func element(at index: Int) -> GGUFValue? {
        guard index >= 0, index < count else { return nil }
        switch self {
        case .uint8(let v): return .uint8(v[index])
        case .int8(let v): return .int8(v[index])
        case .uint16(let v): return .uint16(v[index])
        case .int16(let v): return .int16(v[index])
        case .uint32(let v): return .uint32(v[index])
        case .int32(let v): return .int32(v[index])
        case .float32(let v): return .float32(v[index])
        case .bool(let v): return .bool(v[index])
        case .string(let v): return .string(v[index])
        case .array(let v): return .array(v[index])
        case .uint64(let v): return .uint64(v[index])
        case .int64(let v): return .int64(v[index])
        case .float64(let v): return .float64(v[index])
        }
    }

    /// Integer elements converted to `T`, or nil if this is not an integer
    /// array or some element does not fit in `T`.
    public func integers<T: FixedWidthInteger>(as: T.Type) -> [T]? {
        switch self {
        case .uint8(let v): return Self.convert(v)
        case .int8(let v): return Self.convert(v)
        case .uint16(let v): return Self.convert(v)
        case .int16(let v): return Self.convert(v)
        case .uint32(let v): return Self.convert(v)
        case .int32(let v): return Self.convert(v)
        case .uint64(let v): return Self.convert(v)
        case .int64(let v): return Self.convert(v)
        default: return nil
        }
    }

    private static func convert<S: FixedWidthInteger, T: FixedWidthInteger>(_ source: [S]) -> [T]? {
        var result: [T] = []
        result.reserveCapacity(source.count)
        for value in source {
            guard let converted = T(exactly: value) else { return nil }
            result.append(converted)
        }
        return result
    }
}
