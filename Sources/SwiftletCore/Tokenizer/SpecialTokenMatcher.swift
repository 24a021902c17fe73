/// Cuts special tokens written in the input (e.g. "<|im_start|>") out of it
/// before ordinary tokenization.
///
/// Which tokens, following llama.cpp (and HF tokenizers' added tokens):
/// control and unknown tokens only when the caller asks to parse special
/// tokens, user-defined tokens always (they are ordinary words the model
/// author added whole, so plain text must tokenize to them too).
/// Longer tokens are searched first, each through every piece of text that
/// is still unclaimed, so a token that contains another wins.
struct SpecialTokenMatcher: Sendable {
    struct Entry: Sendable {
        let id: Int32
        let text: [UInt8]
        /// false for user-defined tokens, matched even without parse-special.
        let onlyWhenParsingSpecial: Bool
    }

    enum Fragment: Equatable {
        case token(Int32)
        case text(Range<Int>)
    }

    /// Longest first; ties by id, so the order is deterministic.
    private let entries: [Entry]

    init(_ entries: [Entry]) {
        self.entries = entries.filter { !$0.text.isEmpty }.sorted {
            $0.text.count != $1.text.count ? $0.text.count > $1.text.count : $0.id < $1.id
        }
    }

    /// Splits `input` into special tokens and the text around them, in order.
    func split(_ input: UnsafeBufferPointer<UInt8>, parseSpecial: Bool) -> [Fragment] {
        var fragments: [Fragment] = input.isEmpty ? [] : [.text(0..<input.count)]
        var refined: [Fragment] = []
        for entry in entries where parseSpecial || !entry.onlyWhenParsingSpecial {
            refined.removeAll(keepingCapacity: true)
            var changed = false
            for fragment in fragments {
                guard case .text(let range) = fragment else {
                    refined.append(fragment)
                    continue
                }
                var start = range.lowerBound
                while let match = Self.firstOccurrence(of: entry.text, in: input, range: start..<range.upperBound) {
                    if start < match { refined.append(.text(start..<match)) }
                    refined.append(.token(entry.id))
                    start = match + entry.text.count
                    changed = true
                }
                if start < range.upperBound { refined.append(.text(start..<range.upperBound)) }
            }
            if changed { swap(&fragments, &refined) }
        }
        return fragments
    }

    private static func firstOccurrence(of needle: [UInt8], in haystack: UnsafeBufferPointer<UInt8>,
                                        range: Range<Int>) -> Int? {
        guard needle.count <= range.count else { return nil }
        let first = needle[0]
        let lastStart = range.upperBound - needle.count
        var index = range.lowerBound
        while index <= lastStart {
            if haystack[index] == first {
                var offset = 1
                while offset < needle.count && haystack[index + offset] == needle[offset] { offset += 1 }
                if offset == needle.count { return index }
            }
            index += 1
        }
        return nil
    }
}
