extension Grammar {
    /// The grammar of the JSON documents `schema` (JSON text) validates.
    public convenience init(jsonSchema schema: String) throws(SwiftletError) {
        throw SwiftletError.unsupported("JSON Schema grammars are not wired in yet")
    }
}
