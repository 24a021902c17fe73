/// Reading GGUF metadata values (scalars, strings and arrays, nested arrays
/// included) from a cursor. Before looping over an array, its element count
/// is checked against the bytes left in the file, so an absurd count fails at
/// once instead of after a long loop or a huge allocation.
extension GGUFByteCursor {
    /// Deeper nesting is refused, so a crafted file cannot exhaust the stack.
    static let maximumArrayNesting = 8

    /// A value preceded by its uint32 type id.
    mutating func typedValue() throws(SwiftletError) -> GGUFValue {
        let type = try valueType("value type")
        return try value(of: type)
    }

    mutating func value(of type: GGUFValueType) throws(SwiftletError) -> GGUFValue {
        switch type {
        case .uint8: return .uint8(try uint8("uint8 value"))
        case .int8: return .int8(Int8(bitPattern: try uint8("int8 value")))
        case .uint16: return .uint16(try integers(1, as: UInt16.self, "uint16 value")[0])
        case .int16: return .int16(try integers(1, as: Int16.self, "int16 value")[0])
        case .uint32: return .uint32(try uint32("uint32 value"))
        case .int32: return .int32(Int32(bitPattern: try uint32("int32 value")))
        case .float32: return .float32(Float(bitPattern: try uint32("float32 value")))
        // Any nonzero byte is true, as in the gguf Python package.
        case .bool: return .bool(try uint8("bool value") != 0)
        case .string: return .string(try string("string value"))
        case .array: return .array(try array(depth: 1))
        case .uint64: return .uint64(try uint64("uint64 value"))
        case .int64: return .int64(Int64(bitPattern: try uint64("int64 value")))
        case .float64: return .float64(Double(bitPattern: try uint64("float64 value")))
        }
    }

    /// An array: uint32 element type, uint64 count, then the elements.
    mutating func array(depth: Int) throws(SwiftletError) -> GGUFArray {
        guard depth <= Self.maximumArrayNesting else {
            throw .unsupported("arrays nested more than \(Self.maximumArrayNesting) deep (at byte \(offset))")
        }
        let elementType = try valueType("array element type")
        let countOffset = offset
        let count = try self.count("array length")
        guard count <= remaining / elementType.minimumEncodedSize else {
            throw .invalidFile("array at byte \(countOffset) claims \(count) \(elementType.name) elements, "
                + "which cannot fit in the \(remaining) bytes left (file size \(bytes.count))")
        }
        switch elementType {
        case .uint8: return .uint8(try integers(count, as: UInt8.self, "uint8 array elements"))
        case .int8: return .int8(try integers(count, as: Int8.self, "int8 array elements"))
        case .uint16: return .uint16(try integers(count, as: UInt16.self, "uint16 array elements"))
        case .int16: return .int16(try integers(count, as: Int16.self, "int16 array elements"))
        case .uint32: return .uint32(try integers(count, as: UInt32.self, "uint32 array elements"))
        case .int32: return .int32(try integers(count, as: Int32.self, "int32 array elements"))
        case .uint64: return .uint64(try integers(count, as: UInt64.self, "uint64 array elements"))
        case .int64: return .int64(try integers(count, as: Int64.self, "int64 array elements"))
        case .float32:
            return .float32(try integers(count, as: UInt32.self, "float32 array elements").map(Float.init(bitPattern:)))
        case .float64:
            return .float64(try integers(count, as: UInt64.self, "float64 array elements").map(Double.init(bitPattern:)))
        case .bool:
            return .bool(try integers(count, as: UInt8.self, "bool array elements").map { $0 != 0 })
        case .string:
            // No reserveCapacity: the count is only bounded by the file size,
            // and growing as elements really parse keeps memory honest.
            var strings: [String] = []
            for _ in 0..<count { strings.append(try string("array string element")) }
            return .string(strings)
        case .array:
            var arrays: [GGUFArray] = []
            for _ in 0..<count { arrays.append(try array(depth: depth + 1)) }
            return .array(arrays)
        }
    }

    private mutating func valueType(_ what: StaticString) throws(SwiftletError) -> GGUFValueType {
        let typeOffset = offset
        let raw = try uint32(what)
        guard let type = GGUFValueType(rawValue: raw) else {
            throw .invalidFile("unknown \(what) \(raw) at byte \(typeOffset)")
        }
        return type
    }
}
