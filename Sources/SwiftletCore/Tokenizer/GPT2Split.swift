extension PreTokenizer {
    /// GPT-2's pre-tokenization pattern as a hand-written scanner:
    ///
    ///     's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
    ///
    /// Why no regex engine: the stdlib has none without Foundation, and a scanner
    /// is faster. At each position the first alternative that matches wins, as in
    /// the regex; every character is matched by some alternative, so the pieces
    /// cover the text with no gaps. The one subtle rule is `\s+(?!\S)`: a run of
    /// whitespace followed by a non-space leaves its last character to the next
    /// piece (so "a   b" gives "a", "  ", " b"); a run at the end of the range is
    /// kept whole. The range end acts as end of text, as it does when this
    /// pattern runs on the parts left by an earlier split (see PreTokenizer).
    enum GPT2Split {
        /// Appends the pieces of `characters[range]` (character indices) to `pieces`.
        static func split(_ characters: CharacterSequence, _ range: Range<Int>, into pieces: inout [Range<Int>]) {
            let values = characters.scalarValues
            let classes = characters.classes
            let end = range.upperBound
            var position = range.lowerBound

            while position < end {
                let start = position
                let value = values[position]

                // 's 't 're 've 'm 'll 'd (lower case only, as in GPT-2)
                if value == apostrophe && position + 1 < end {
                    let next = values[position + 1]
                    if next == letterS || next == letterT || next == letterM || next == letterD {
                        pieces.append(start..<position + 2)
                        position += 2
                        continue
                    }
                    if position + 2 < end {
                        let afterNext = values[position + 2]
                        if (next == letterR && afterNext == letterE) || (next == letterV && afterNext == letterE)
                            || (next == letterL && afterNext == letterL) {
                            pieces.append(start..<position + 3)
                            position += 3
                            continue
                        }
                    }
                }

                // " ?X+" where X is letters, numbers or "other": an optional single
                // U+0020 glued to a run of one class.
                var runStart = position
                if value == space && position + 1 < end && classes[position + 1] != .whitespace {
                    runStart = position + 1
                }
                let runClass = classes[runStart]
                if runClass != .whitespace {
                    position = runStart + 1
                    while position < end && classes[position] == runClass { position += 1 }
                    pieces.append(start..<position)
                    continue
                }

                // \s+(?!\S) | \s+
                var runEnd = position + 1
                while runEnd < end && classes[runEnd] == .whitespace { runEnd += 1 }
                if runEnd < end && runEnd - position > 1 {
                    runEnd -= 1  // leave the last whitespace character to glue to what follows
                }
                pieces.append(start..<runEnd)
                position = runEnd
            }
        }

        private static let apostrophe = UInt32(UInt8(ascii: "'"))
        private static let space = UInt32(UInt8(ascii: " "))
        private static let letterS = UInt32(UInt8(ascii: "s"))
        private static let letterT = UInt32(UInt8(ascii: "t"))
        private static let letterM = UInt32(UInt8(ascii: "m"))
        private static let letterD = UInt32(UInt8(ascii: "d"))
        private static let letterR = UInt32(UInt8(ascii: "r"))
        private static let letterE = UInt32(UInt8(ascii: "e"))
        private static let letterV = UInt32(UInt8(ascii: "v"))
        private static let letterL = UInt32(UInt8(ascii: "l"))
    }
}
