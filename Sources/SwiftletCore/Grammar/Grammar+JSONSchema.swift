extension Grammar {
    /// The grammar of the JSON documents `schema` (JSON text) validates
    /// (the subset and its choices: JSONSchemaGrammar).
    public convenience init(jsonSchema schema: String) throws(SwiftletError) {
        try self.init(gbnf: JSONSchemaGrammar.gbnf(fromSchemaJSON: schema))
    }
}
