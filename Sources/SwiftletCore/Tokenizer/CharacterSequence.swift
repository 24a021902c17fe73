extension PreTokenizer {
    /// A stretch of input decoded into characters, with what the pre-tokenizers
    /// need to know about each one.
    ///
    /// Why: the split patterns are defined on characters, but the pieces they
    /// produce are byte ranges handed to BPE. Decoding once into parallel arrays
    /// lets the scanners look ahead cheaply and map results back to bytes.
    /// Ill-formed UTF-8 never stops the tokenizer: each maximal ill-formed
    /// subpart becomes one "character" of class `.other` whose bytes are later
    /// encoded as byte tokens.
    struct CharacterSequence {
        /// Scalar value of each character; `invalidMarker` for ill-formed bytes.
        private(set) var scalarValues: [UInt32] = []
        private(set) var classes: [CharacterClass] = []
        /// Byte offset (in the whole input) of each character, then the end offset.
        private(set) var byteOffsets: [Int] = []

        static let invalidMarker: UInt32 = 0xFFFF_FFFF

        var count: Int { scalarValues.count }

        /// Replaces the contents with the characters of `bytes[range]`.
        mutating func load(_ bytes: UnsafeBufferPointer<UInt8>, range: Range<Int>) {
            scalarValues.removeAll(keepingCapacity: true)
            classes.removeAll(keepingCapacity: true)
            byteOffsets.removeAll(keepingCapacity: true)

            // Decode within the range only, so a character never reaches past it.
            let slice = UnsafeBufferPointer(rebasing: bytes[range])
            var index = 0
            while index < slice.count {
                byteOffsets.append(range.lowerBound + index)
                switch UTF8Decoding.step(slice, at: index) {
                case .scalar(let scalar, let length):
                    scalarValues.append(scalar.value)
                    classes.append(CharacterClass.of(scalar))
                    index += length
                case .invalid(let length), .truncated(let length):
                    scalarValues.append(Self.invalidMarker)
                    classes.append(.other)
                    index += length
                }
            }
            byteOffsets.append(range.upperBound)
        }

        /// The scalar at `index`, or nil for ill-formed bytes.
        func scalar(at index: Int) -> Unicode.Scalar? {
            let value = scalarValues[index]
            return value == Self.invalidMarker ? nil : Unicode.Scalar(value)
        }
    }
}
