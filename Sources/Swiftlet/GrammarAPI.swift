import CSwiftlet
import SwiftletCore

// A grammar handle is the retained Grammar itself: immutable, so any number
// of samplers and threads may hold it.

@c @implementation
public func swiftlet_grammar_create(_ model: OpaquePointer?, _ gbnf: UnsafePointer<CChar>?, _ root: UnsafePointer<CChar>?,
                                    _ out_grammar: UnsafeMutablePointer<OpaquePointer?>?) -> swiftlet_status {
    withStatus {
        let out = try required(out_grammar, "out_grammar")
        let text = try required(gbnf, "gbnf")
        let grammar = try Grammar(gbnf: bytesOf(text), root: root.map(stringOf) ?? "root")
        try prepareVocabulary(model)
        out.pointee = retainedHandle(grammar)
    }
}

@c @implementation
public func swiftlet_grammar_from_json_schema(_ model: OpaquePointer?, _ schema_json: UnsafePointer<CChar>?,
                                              _ out_grammar: UnsafeMutablePointer<OpaquePointer?>?) -> swiftlet_status {
    withStatus {
        let out = try required(out_grammar, "out_grammar")
        let schema = try required(schema_json, "schema_json")
        let grammar = try Grammar(jsonSchema: stringOf(schema))
        try prepareVocabulary(model)
        out.pointee = retainedHandle(grammar)
    }
}

/// Builds `model`'s prefix tree now, if a model is given, so the first
/// sample does not pay for it.
private func prepareVocabulary(_ model: OpaquePointer?) throws {
    if model != nil { _ = try modelOf(model).tokenizer.tokenTrie }
}

@c @implementation
public func swiftlet_grammar_free(_ grammar: OpaquePointer?) {
    releaseHandle(grammar)
}

@c @implementation
public func swiftlet_grammar_match(_ grammar: OpaquePointer?, _ text: UnsafePointer<CChar>?, _ length: Int,
                                   _ out_match: UnsafeMutablePointer<Int32>?) -> swiftlet_status {
    withStatus {
        let g = try object(grammar, as: Grammar.self, "grammar")
        let out = try required(out_match, "out_match")
        guard length >= 0 else { throw SwiftletError.invalidArgument("length \(UInt(bitPattern: length)) is too large") }
        guard length == 0 || text != nil else { throw SwiftletError.invalidArgument("text is NULL but length is \(length)") }
        let bytes = UnsafeBufferPointer(start: text.map { UnsafeRawPointer($0).assumingMemoryBound(to: UInt8.self) },
                                        count: length)
        out.pointee = try g.match(bytes).rawValue
    }
}
