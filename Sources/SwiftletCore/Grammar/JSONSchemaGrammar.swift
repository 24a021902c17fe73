/// JSON Schema to GBNF: the grammar of the JSON documents a schema
/// validates, for swiftlet_grammar_from_json_schema (and response_format's
/// `json_schema`; an empty schema `{}` or `true` is any JSON value, which is
/// response_format `json_object`).
///
/// What is supported is exactly what include/swiftlet.h lists; every other
/// keyword is INVALID_ARGUMENT naming it and its place as a JSON pointer
/// (`#/properties/age: keyword "multipleOf" is not supported`), never
/// dropped. The grammar's language is always inside the schema's: whatever
/// a model generates under it validates. Where matching every valid document
/// would cost too much the grammar takes a part of them, and says so here:
///
/// - Objects: properties in the schema's order, each required one present,
///   each optional one present or not, none twice. `additionalProperties`
///   absent follows llama.cpp's json-schema-to-grammar (what users of
///   response_format already rely on): with `properties` given, no other
///   properties (as if false) — a model asked for a shape should not invent
///   extra keys; without `properties`, any. Additional properties come after
///   the named ones, with keys written without escapes (so none can spell a
///   named key another way); the grammar cannot keep two additional keys
///   from being equal.
/// - `oneOf` is taken as `anyOf`: the branches are expected not to overlap
///   (distinct types or const tags), as in the schemas models are given.
/// - Without `type`, the type follows from the keywords present (properties
///   → object, items → array, pattern → string, minimum → integer, ...);
///   with none of them, any value.
/// - Numbers, whitespace and constants: see JSONSchemaPrimitive and JSONStringContent.
/// - `minimum`/`maximum` (and the exclusive forms) apply to integers only;
///   strings take one of `pattern`, `format` or the length bounds.
/// - `$ref` is a JSON pointer into the same document (#/$defs/..., #/definitions/...,
///   # itself); each target becomes one rule, so recursion is allowed, but
///   a cycle of references that consumes nothing (a ::= b, b ::= a) is an error.
///
/// Limits (a hostile schema fails fast and small): the grammar's text, each
/// repetition count and their sum are bounded (JSONSchemaRuleSet), as are
/// chains of references that consume nothing; nesting is bounded by the JSON
/// parser (128 levels).
public enum JSONSchemaGrammar {
    /// The largest grammar text a schema may compile to.
    public static let maximumGrammarBytes = 1 << 20
    /// The largest count of one repetition (maxItems, maxLength, {m,n} in a
    /// pattern): the GBNF compiler expands `x{m,n}` into n copies.
    public static let maximumRepetitionCount = 4096
    /// The largest sum of all repetition counts of one grammar.
    public static let maximumRepetitionTotal = 1 << 16
    /// The longest chain of `$ref`s (and unions of them) that consumes nothing.
    public static let maximumReferenceChain = 64

    /// The GBNF text (root rule `root`) for the schema in `text`.
    public static func gbnf(fromSchemaJSON text: String) throws(SwiftletError) -> String {
        let document: JSONValue
        do throws(SwiftletError) {
            document = try JSONValue.parse(text, what: "the JSON schema")
        } catch {
            throw .invalidArgument(error.message)
        }
        var converter = JSONSchemaConverter(document: document)
        return try converter.grammar()
    }
}

/// One conversion: walks the schema, adding rules as it goes.
private struct JSONSchemaConverter {
    /// Keywords that only annotate (and the containers of definitions, which
    /// constrain nothing until referenced).
    static let annotations: Set<String> = [
        "title", "description", "$schema", "$id", "$comment", "default", "examples", "$defs", "definitions",
    ]
    static let structuralKeywords: Set<String> = ["type", "enum", "const", "anyOf", "oneOf", "$ref"]
    /// The type each type-specific keyword applies to.
    static let typeOfKeyword: [String: String] = [
        "properties": "object", "required": "object", "additionalProperties": "object",
        "items": "array", "minItems": "array", "maxItems": "array",
        "minLength": "string", "maxLength": "string", "pattern": "string", "format": "string",
        "minimum": "integer", "maximum": "integer", "exclusiveMinimum": "integer", "exclusiveMaximum": "integer",
    ]
    static let typeNames = ["object", "array", "string", "number", "integer", "boolean", "null"]

    let document: JSONValue
    var rules = JSONSchemaRuleSet()
    /// The rule of every `$ref` target met so far, by pointer (nil: it matches nothing).
    var referenceRules: [String: String?] = [:]
    /// Targets whose rule is named but not yet written: worked off after the
    /// root, so a long chain of references never deepens the recursion.
    var pendingReferences: [(pointer: String, schema: JSONValue, rule: String)] = []
    /// Pointers known to start no cycle of references that consumes nothing.
    var acyclicPointers: Set<String> = []

    init(document: JSONValue) {
        self.document = document
    }

    mutating func grammar() throws(SwiftletError) -> String {
        guard let root = try rule(for: document, at: "#", name: "schema") else {
            throw .invalidArgument("#: the schema matches nothing")
        }
        while let next = pendingReferences.popLast() {
            guard let body = try rule(for: next.schema, at: next.pointer, name: next.rule + "-value") else {
                throw .invalidArgument("\(next.pointer): the schema matches nothing")
            }
            try rules.define(next.rule, body)
        }
        return rules.text(root: root)
    }

    // MARK: schemas

    /// The GBNF element (a rule name) matching the JSON texts `schema`
    /// validates, or nil when it validates nothing.
    mutating func rule(for schema: JSONValue, at place: String, name: String) throws(SwiftletError) -> String? {
        switch schema {
        case .bool(true): return rules.primitive(.value)
        case .bool(false): return nil
        case .object(let object): return try rule(for: object, at: place, name: name)
        default: throw .invalidArgument("\(place): a schema must be an object or a boolean, not \(schema)")
        }
    }

    mutating func rule(for schema: JSONObject, at place: String, name: String) throws(SwiftletError) -> String? {
        var constraints: [String] = []
        for key in schema.keys where !Self.annotations.contains(key) {
            guard Self.structuralKeywords.contains(key) || Self.typeOfKeyword[key] != nil else {
                throw .invalidArgument("\(place): keyword \"\(key)\" is not supported")
            }
            constraints.append(key)
        }
        if let reference = schema["$ref"] {
            try Self.requireAlone("$ref", among: constraints, allowing: [], place: place)
            return try referenceRule(reference, at: place + "/$ref")
        }
        if schema["anyOf"] != nil || schema["oneOf"] != nil {
            let keyword = schema["anyOf"] != nil ? "anyOf" : "oneOf"
            try Self.requireAlone(keyword, among: constraints, allowing: [], place: place)
            return try unionRule(schema[keyword]!, keyword: keyword, at: place, name: name)
        }
        if schema["enum"] != nil || schema["const"] != nil {
            try Self.requireAlone(schema["enum"] != nil ? "enum" : "const", among: constraints,
                                  allowing: ["enum", "const", "type"], place: place)
            return try constantsRule(schema, at: place, name: name)
        }
        return try typedRule(schema, constraints: constraints, at: place, name: name)
    }

    static func requireAlone(_ keyword: String, among constraints: [String], allowing: Set<String>,
                             place: String) throws(SwiftletError) {
        if let other = constraints.first(where: { $0 != keyword && !allowing.contains($0) }) {
            throw .invalidArgument("\(place): keyword \"\(other)\" beside \"\(keyword)\" is not supported")
        }
    }

    mutating func unionRule(_ value: JSONValue, keyword: String, at place: String,
                            name: String) throws(SwiftletError) -> String? {
        guard let branches = value.array, !branches.isEmpty else {
            throw .invalidArgument("\(place): keyword \"\(keyword)\" must be a non-empty array of schemas")
        }
        var alternatives: [String] = []
        for (index, branch) in branches.enumerated() {
            // Identical branches are dropped: an ambiguous grammar makes the matcher track each parse.
            if let rule = try rule(for: branch, at: "\(place)/\(keyword)/\(index)", name: "\(name)-\(index)"),
               !alternatives.contains(rule) {
                alternatives.append(rule)
            }
        }
        if alternatives.count <= 1 { return alternatives.first }
        return try rules.add(name, alternatives.joined(separator: " | "))
    }

    mutating func typedRule(_ schema: JSONObject, constraints: [String], at place: String,
                            name: String) throws(SwiftletError) -> String? {
        var types: [String] = []
        if let typeValue = schema["type"] {
            let listed = typeValue.string.map { [JSONValue.string($0)] } ?? typeValue.array ?? []
            for entry in listed {
                guard let type = entry.string, Self.typeNames.contains(type) else {
                    throw .invalidArgument("\(place): keyword \"type\": \(entry) is not a JSON Schema type")
                }
                if !types.contains(type) { types.append(type) }
            }
            guard !types.isEmpty else {
                throw .invalidArgument("\(place): keyword \"type\" must be a type name or a non-empty array of them")
            }
        } else {
            for key in constraints {
                if let type = Self.typeOfKeyword[key], !types.contains(type) { types.append(type) }
            }
            if types.isEmpty { return rules.primitive(.value) }
        }
        for key in constraints where key != "type" {
            let type = Self.typeOfKeyword[key]!
            guard types.contains(type) else {
                throw .invalidArgument("\(place): keyword \"\(key)\" applies to type \"\(type)\", which \"type\" does not allow here")
            }
            if type == "integer" && types.contains("number") {
                throw .invalidArgument("\(place): keyword \"\(key)\" is supported for type \"integer\" only, not \"number\"")
            }
        }
        if types.contains("number") { types.removeAll { $0 == "integer" } }  // a number includes every integer

        var alternatives: [String] = []
        for type in types {
            let typeName = types.count == 1 ? name : "\(name)-\(type)"
            let rule: String?
            switch type {
            case "null": rule = rules.primitive(.null)
            case "boolean": rule = rules.primitive(.boolean)
            case "number": rule = rules.primitive(.number)
            case "integer": rule = try integerRule(schema, at: place, name: typeName)
            case "string": rule = try stringRule(schema, at: place, name: typeName)
            case "array": rule = try arrayRule(schema, at: place, name: typeName)
            default: rule = try objectRule(schema, at: place, name: typeName)
            }
            if let rule, !alternatives.contains(rule) { alternatives.append(rule) }
        }
        if alternatives.count <= 1 { return alternatives.first }
        return try rules.add(name, alternatives.joined(separator: " | "))
    }

    // MARK: references

    mutating func referenceRule(_ value: JSONValue, at place: String) throws(SwiftletError) -> String? {
        guard let reference = value.string else {
            throw .invalidArgument("\(place): keyword \"$ref\" must be a string")
        }
        let pointer = try Self.canonicalPointer(reference, place: place)
        if let known = referenceRules[pointer] { return known }
        let target = try resolve(pointer, place: place)
        var chain: [String] = []
        try checkReferenceChain(pointer, chain: &chain, place: place)
        switch target {
        case .bool(false):
            referenceRules[pointer] = .some(nil)
            return nil
        case .bool(true):
            let rule = rules.primitive(.value)
            referenceRules[pointer] = rule
            return rule
        default:
            let segments = pointer.split(separator: "/")
            let rule = rules.reserve(segments.count > 1 ? String(segments.last!) : "document")
            referenceRules[pointer] = rule
            pendingReferences.append((pointer, target, rule))
            return rule
        }
    }

    /// The pointer of a `$ref` in one spelling (percent-escapes decoded): refs
    /// written two ways to one place share its rule.
    static func canonicalPointer(_ reference: String, place: String) throws(SwiftletError) -> String {
        guard reference.hasPrefix("#") else {
            throw .invalidArgument("\(place): \"\(reference)\": only references inside the schema (#/$defs/...) are supported")
        }
        var bytes: [UInt8] = []
        var utf8 = Array(reference.utf8)[...]
        while let byte = utf8.popFirst() {
            if byte == UInt8(ascii: "%"), utf8.count >= 2,
               let value = UInt8(String(decoding: utf8.prefix(2), as: UTF8.self), radix: 16) {
                bytes.append(value)
                utf8 = utf8.dropFirst(2)
            } else {
                bytes.append(byte)
            }
        }
        guard let decoded = String(validating: bytes, as: UTF8.self) else {
            throw .invalidArgument("\(place): \"\(reference)\" is not a valid JSON pointer")
        }
        if decoded == "#/" { return "#" }
        return decoded
    }

    func resolve(_ pointer: String, place: String) throws(SwiftletError) -> JSONValue {
        var target = document
        guard pointer != "#" else { return target }
        guard pointer.hasPrefix("#/") else {
            throw .invalidArgument("\(place): \"\(pointer)\" is not a JSON pointer (#/$defs/name)")
        }
        for rawSegment in pointer.dropFirst(2).split(separator: "/", omittingEmptySubsequences: false) {
            let segment = String(rawSegment).replacing("~1", with: "/").replacing("~0", with: "~")
            switch target {
            case .object(let object) where object[segment] != nil:
                target = object[segment]!
            case .array(let items) where Int(segment).map { items.indices.contains($0) } ?? false:
                target = items[Int(segment)!]
            default:
                throw .invalidArgument("\(place): \"\(pointer)\" points to nothing in the schema")
            }
        }
        return target
    }

    /// Follows the references `pointer`'s target starts with (directly, or
    /// in a branch of anyOf/oneOf) and fails on a cycle: a ::= b, b ::= a
    /// matches nothing and would loop the matcher. `chain` holds the pointers
    /// being followed.
    mutating func checkReferenceChain(_ pointer: String, chain: inout [String], place: String) throws(SwiftletError) {
        if acyclicPointers.contains(pointer) { return }
        if chain.contains(pointer) {
            throw .invalidArgument("\(place): the references \((chain + [pointer]).joined(separator: " → ")) form a cycle that matches nothing")
        }
        guard chain.count < JSONSchemaGrammar.maximumReferenceChain else {
            throw .invalidArgument("\(place): a chain of references deeper than \(JSONSchemaGrammar.maximumReferenceChain)")
        }
        chain.append(pointer)
        var leading: [String] = []
        Self.leadingReferences(of: try resolve(pointer, place: place), into: &leading)
        for next in leading {
            try checkReferenceChain(try Self.canonicalPointer(next, place: place), chain: &chain, place: place)
        }
        chain.removeLast()
        acyclicPointers.insert(pointer)
    }

    /// The `$ref`s a schema's first token may come from (it is not itself an
    /// object, array or value until they resolve).
    static func leadingReferences(of schema: JSONValue, into references: inout [String]) {
        guard case .object(let object) = schema else { return }
        if let reference = object["$ref"]?.string {
            references.append(reference)
            return
        }
        for keyword in ["anyOf", "oneOf"] {
            for branch in object[keyword]?.array ?? [] { leadingReferences(of: branch, into: &references) }
        }
    }

    // MARK: constants

    mutating func constantsRule(_ schema: JSONObject, at place: String, name: String) throws(SwiftletError) -> String? {
        var values: [JSONValue]
        if let list = schema["enum"] {
            guard let array = list.array else { throw .invalidArgument("\(place): keyword \"enum\" must be an array") }
            values = array
            if let constant = schema["const"] { values = values.filter { $0 == constant } }
        } else {
            values = [schema["const"]!]
        }
        if let typeValue = schema["type"] {
            let types = typeValue.string.map { [$0] } ?? typeValue.array?.compactMap(\.string) ?? []
            guard !types.isEmpty, types.allSatisfy(Self.typeNames.contains) else {
                throw .invalidArgument("\(place): keyword \"type\" must be a type name or a non-empty array of them")
            }
            values = values.filter { value in types.contains { Self.value(value, hasType: $0) } }
        }
        var alternatives: [String] = []
        var seen: Set<String> = []
        for value in values {
            let text = constant(value)
            if seen.insert(text).inserted { alternatives.append(text) }
        }
        if alternatives.isEmpty { return nil }
        return try rules.add(name, alternatives.joined(separator: " | "))
    }

    static func value(_ value: JSONValue, hasType type: String) -> Bool {
        switch (type, value) {
        case ("null", .null), ("boolean", .bool), ("string", .string), ("array", .array), ("object", .object): return true
        case ("number", .integer), ("number", .number), ("integer", .integer): return true
        case ("integer", .number(let d)): return d.rounded() == d
        default: return false
        }
    }

    /// A sequence of GBNF elements matching `value` written as JSON, with
    /// whitespace between the tokens of arrays and objects (members in the
    /// order given).
    mutating func constant(_ value: JSONValue) -> String {
        switch value {
        case .null: return "\"null\""
        case .bool(let b): return b ? "\"true\"" : "\"false\""
        case .integer(let i): return "\"\(i)\""
        case .number(let d): return "\"\(d)\""  // Swift's shortest round-trip form, as Python's repr
        case .string(let s): return Self.stringLiteral(s)
        case .array(let items):
            let space = rules.primitive(.space)
            if items.isEmpty { return "\"[\" \(space) \"]\"" }
            var parts: [String] = []
            for item in items { parts.append(constant(item) + " " + space) }
            return "\"[\" \(space) " + parts.joined(separator: " \",\" \(space) ") + " \"]\""
        case .object(let object):
            let space = rules.primitive(.space)
            if object.count == 0 { return "\"{\" \(space) \"}\"" }
            var parts: [String] = []
            for member in object.members {
                parts.append("\(Self.stringLiteral(member.key)) \(space) \":\" \(space) \(constant(member.value)) \(space)")
            }
            return "\"{\" \(space) " + parts.joined(separator: " \",\" \(space) ") + " \"}\""
        }
    }

    /// `text` as a JSON string with its quotes, as GBNF elements (adjacent literals merged).
    static func stringLiteral(_ text: String) -> String {
        var elements = ["\"\\\"\""] + JSONStringContent.literal(text) + ["\"\\\"\""]
        var merged: [String] = []
        for element in elements where !element.isEmpty {
            if let last = merged.last, last.hasPrefix("\""), element.hasPrefix("\"") {
                merged[merged.count - 1] = String(last.dropLast()) + element.dropFirst()
            } else {
                merged.append(element)
            }
        }
        elements = merged
        return elements.joined(separator: " ")
    }

    // MARK: integers and strings

    mutating func integerRule(_ schema: JSONObject, at place: String, name: String) throws(SwiftletError) -> String? {
        var low: Int?
        var high: Int?
        for keyword in ["minimum", "exclusiveMinimum", "maximum", "exclusiveMaximum"] {
            guard let value = schema[keyword] else { continue }
            let bound: Int
            switch value {
            case .integer(let i) where abs(i) <= JSONSchemaIntegerRange.largestBound:
                bound = keyword.hasPrefix("exclusive") ? (keyword == "exclusiveMinimum" ? i + 1 : i - 1) : i
            case .number(let d) where abs(d) <= Double(JSONSchemaIntegerRange.largestBound):
                switch keyword {
                case "minimum": bound = Int(d.rounded(.up))
                case "maximum": bound = Int(d.rounded(.down))
                case "exclusiveMinimum": bound = Int(d.rounded(.down)) + 1
                default: bound = Int(d.rounded(.up)) - 1
                }
            case .integer, .number:
                throw .invalidArgument("\(place): keyword \"\(keyword)\": bounds beyond ±10^18 are not supported")
            default:
                throw .invalidArgument("\(place): keyword \"\(keyword)\" must be a number")
            }
            if keyword.hasSuffix("inimum") { low = max(low ?? bound, bound) } else { high = min(high ?? bound, bound) }
        }
        if low == nil && high == nil { return rules.primitive(.integer) }
        // An open side reaches as far as a plain integer does (16 digits), or to ±10^18 past that.
        let digits16 = 9_999_999_999_999_999
        let from = low ?? (high! < -digits16 ? -JSONSchemaIntegerRange.largestBound : -digits16)
        let to = high ?? (from > digits16 ? JSONSchemaIntegerRange.largestBound : digits16)
        guard from <= to else { return nil }
        return try rules.add(name, JSONSchemaIntegerRange.expression(low: from, high: to))
    }

    mutating func stringRule(_ schema: JSONObject, at place: String, name: String) throws(SwiftletError) -> String? {
        let quote = "\"\\\"\""
        let lengthKeywords = ["minLength", "maxLength"].filter { schema[$0] != nil }
        if let pattern = schema["pattern"] {
            if let other = (["format"] + lengthKeywords).first(where: { schema[$0] != nil }) {
                throw .invalidArgument("\(place): keyword \"\(other)\" beside \"pattern\" is not supported")
            }
            guard let text = pattern.string else { throw .invalidArgument("\(place): keyword \"pattern\" must be a string") }
            let content = try RegexGrammar.content(of: text, place: place, name: name, rules: &rules)
            return try rules.add(name, content.isEmpty ? "\(quote) \(quote)" : "\(quote) \(content) \(quote)")
        }
        if let format = schema["format"] {
            if let other = lengthKeywords.first {
                throw .invalidArgument("\(place): keyword \"\(other)\" beside \"format\" is not supported")
            }
            switch format.string {
            case "date": return rules.primitive(.dateString)
            case "time": return rules.primitive(.timeString)
            case "date-time": return rules.primitive(.dateTimeString)
            case "uuid": return rules.primitive(.uuid)
            default:
                throw .invalidArgument("\(place): keyword \"format\": \(format) is not supported (date, time, date-time and uuid are)")
            }
        }
        if lengthKeywords.isEmpty { return rules.primitive(.string) }
        let minimum = try Self.count(schema, "minLength", at: place) ?? 0
        let maximum = try Self.count(schema, "maxLength", at: place)
        if let maximum, maximum < minimum { return nil }
        let character = rules.primitive(.character)
        let characters = try rules.repetition(character, min: minimum, max: maximum, place: "\(place): keyword \"maxLength\"")
        return try rules.add(name, characters.isEmpty ? "\(quote) \(quote)" : "\(quote) \(characters) \(quote)")
    }

    /// A non-negative integer keyword's value, or nil when absent.
    static func count(_ schema: JSONObject, _ keyword: String, at place: String) throws(SwiftletError) -> Int? {
        guard let value = schema[keyword] else { return nil }
        guard let count = value.integer, count >= 0 else {
            if let d = value.double, d >= 0, d.rounded() == d {
                throw .invalidArgument("\(place): keyword \"\(keyword)\": \(value) is more than a grammar may hold")
            }
            throw .invalidArgument("\(place): keyword \"\(keyword)\" must be a non-negative integer")
        }
        return count
    }

    // MARK: arrays and objects

    mutating func arrayRule(_ schema: JSONObject, at place: String, name: String) throws(SwiftletError) -> String? {
        let space = rules.primitive(.space)
        var item: String? = rules.primitive(.value)
        if let items = schema["items"] {
            item = try rule(for: items, at: place + "/items", name: "\(name)-item")
        }
        let minimum = try Self.count(schema, "minItems", at: place) ?? 0
        var maximum = try Self.count(schema, "maxItems", at: place)
        if item == nil { maximum = 0 }
        if let maximum, maximum < minimum { return nil }
        let largest = max(minimum, maximum ?? 0)
        guard largest <= JSONSchemaGrammar.maximumRepetitionCount else {
            let keyword = largest == minimum ? "minItems" : "maxItems"
            throw .invalidArgument("\(place): keyword \"\(keyword)\": \(largest) items are more than the \(JSONSchemaGrammar.maximumRepetitionCount) a grammar may hold")
        }
        guard let item, maximum != 0 else { return try rules.add(name, "\"[\" \(space) \"]\"") }
        let next = try rules.add("\(name)-next", "\",\" \(space) \(item) \(space)")
        let rest = try rules.repetition(next, min: max(minimum - 1, 0), max: maximum.map { $0 - 1 },
                                        place: "\(place): keyword \"\(maximum == nil ? "minItems" : "maxItems")\"")
        let items = rest.isEmpty ? "\(item) \(space)" : "\(item) \(space) \(rest)"
        return try rules.add(name, minimum == 0 ? "\"[\" \(space) (\(items))? \"]\"" : "\"[\" \(space) \(items) \"]\"")
    }

    mutating func objectRule(_ schema: JSONObject, at place: String, name: String) throws(SwiftletError) -> String? {
        let space = rules.primitive(.space)
        var properties: [(key: String, value: JSONValue)] = []
        if let value = schema["properties"] {
            guard let object = value.object else { throw .invalidArgument("\(place): keyword \"properties\" must be an object") }
            properties = object.members
        }
        var required: [String] = []
        if let value = schema["required"] {
            guard let list = value.array else { throw .invalidArgument("\(place): keyword \"required\" must be an array") }
            for entry in list {
                guard let key = entry.string else {
                    throw .invalidArgument("\(place): keyword \"required\": \(entry) is not a property name")
                }
                if !required.contains(key) { required.append(key) }
            }
        }
        // The value of an additional property; nil: none allowed.
        var additional: String?
        switch schema["additionalProperties"] {
        case nil: additional = schema["properties"] == nil ? rules.primitive(.value) : nil  // llama.cpp's default
        case let value?: additional = try rule(for: value, at: place + "/additionalProperties", name: "\(name)-additional")
        }

        // The members in the schema's order: the rule of each `"key": value` pair, and whether it is required.
        var members: [(pair: String, required: Bool)] = []
        var namedKeys: [String] = []
        func child(_ key: String) -> String { name == "schema" ? key : "\(name)-\(key)" }
        var entries = properties.map { (key: $0.key, schema: Optional($0.value)) }
        for key in required where !properties.contains(where: { $0.key == key }) {
            entries.append((key, nil))  // required but not listed: an additional property's value
        }
        for entry in entries {
            namedKeys.append(entry.key)
            let isRequired = required.contains(entry.key)
            let value: String?
            if let propertySchema = entry.schema {
                value = try rule(for: propertySchema, at: "\(place)/properties/\(Self.pointerSegment(entry.key))",
                                 name: child(entry.key))
            } else if schema["additionalProperties"] == nil {
                value = rules.primitive(.value)  // the closed default is ours, not the schema's: keep it satisfiable
            } else {
                value = additional
            }
            guard let value else {
                if isRequired { return nil }
                continue
            }
            let pair = try rules.add(child(entry.key) + "-kv",
                                     "\(Self.stringLiteral(entry.key)) \(space) \":\" \(space) \(value) \(space)")
            members.append((pair, isRequired))
        }

        // Built from the end: `afterSome` follows a member already written
        // (each member it adds starts with a comma), `beforeAny` follows "{".
        var afterSome = ""
        var beforeAny = ""
        if let additional {
            let key = try additionalKeyRule(excluding: namedKeys, name: name)
            let pair = try rules.add("\(name)-additional-kv", "\(key) \(space) \":\" \(space) \(additional) \(space)")
            let more = try rules.add("\(name)-additional-more", "\",\" \(space) \(pair)")
            afterSome = "\(more)*"
            beforeAny = "(\(pair) \(more)*)?"
        }
        for (index, member) in members.enumerated().reversed() {
            let rest = [member.pair, afterSome].filter { !$0.isEmpty }.joined(separator: " ")
            if member.required {
                afterSome = "\",\" \(space) \(rest)"
                beforeAny = rest
            } else {
                afterSome = (["(\",\" \(space) \(member.pair))?", afterSome].filter { !$0.isEmpty }).joined(separator: " ")
                beforeAny = beforeAny.isEmpty ? "(\(rest))?" : "(\(rest) | \(beforeAny))"
            }
            // Both are used twice by the member before: long ones become rules, so the text stays linear.
            if index > 0 && afterSome.utf8.count > 48 { afterSome = try rules.add("\(name)-after-\(index)", afterSome) }
            if beforeAny.utf8.count > 48 { beforeAny = try rules.add("\(name)-from-\(index)", beforeAny) }
        }
        return try rules.add(name, beforeAny.isEmpty ? "\"{\" \(space) \"}\"" : "\"{\" \(space) \(beforeAny) \"}\"")
    }

    /// A JSON string written without escapes that is none of `excluded`: the
    /// key of an additional property. One rule per node of the prefix tree
    /// of the excluded keys: after each prefix, either the next character of
    /// an excluded key, or any other character and then anything.
    mutating func additionalKeyRule(excluding excluded: [String], name: String) throws(SwiftletError) -> String {
        let keyCharacters = JSONStringContent.unescaped
        let keyClass = JSONStringContent.characterClass(keyCharacters)
        let quote = "\"\\\"\""
        // Keys with a character a raw key cannot hold can never be spelled by one.
        let keys = excluded.filter { $0.unicodeScalars.allSatisfy { keyCharacters.contains($0.value) } }
        if keys.isEmpty { return try rules.add("key", "\(quote) \(keyClass)* \(quote)") }

        var children: [[(character: UInt32, node: Int)]] = [[]]
        var ends: [Bool] = [false]
        for key in keys {
            var node = 0
            for scalar in key.unicodeScalars {
                if let next = children[node].first(where: { $0.character == scalar.value })?.node {
                    node = next
                } else {
                    children.append([])
                    ends.append(false)
                    children[node].append((scalar.value, children.count - 1))
                    node = children.count - 1
                }
            }
            ends[node] = true
        }
        // Names first: a node's rule refers to its children's.
        var ruleOfNode: [Int: String] = [:]
        for node in children.indices where !children[node].isEmpty {
            ruleOfNode[node] = rules.reserve("\(name)-key-\(node)")
        }
        for node in children.indices where !children[node].isEmpty {
            var alternatives: [String] = []
            for (character, child) in children[node].sorted(by: { $0.character < $1.character }) {
                let literal = GBNFSpelling.literal(String(Character(Unicode.Scalar(character)!)))
                alternatives.append("\(literal) \(ruleOfNode[child] ?? keyClass + "+")")
            }
            let others = keyCharacters.subtracting(ScalarSet(ranges: children[node].map { $0.character...$0.character }))
            alternatives.append("\(JSONStringContent.characterClass(others)) \(keyClass)*")
            let body = alternatives.joined(separator: " | ")
            try rules.define(ruleOfNode[node]!, ends[node] ? body : "(\(body))?")
        }
        return try rules.add("\(name)-key", "\(quote) \(ruleOfNode[0] ?? keyClass + "+") \(quote)")
    }

    /// A key as one segment of a JSON pointer (RFC 6901: ~ as ~0, / as ~1).
    static func pointerSegment(_ key: String) -> String {
        key.replacing("~", with: "~0").replacing("/", with: "~1")
    }
}
