/// The fixed rules of JSON's own syntax that schema rules build on: any
/// value, strings, numbers, whitespace, and the string formats.
///
/// Whitespace: JSON allows any run of it between tokens, but a model must not
/// be able to pad forever, so `space` is none, one space, or a newline and up
/// to 20 spaces or tabs (llama.cpp's bound): `json.dumps` with its default
/// ", " and ": " separators, the compact "," ":" ones and `indent=2` up to ten
/// levels all fit. It comes after `{`, `[`, `:`, `,` and after every member
/// or item, never twice in a row (that would make parses ambiguous), and not
/// before or after the whole document: generation ends right at its last `}`.
///
/// Numbers are bounded for the same reason: 16 integral digits (llama.cpp's
/// bound), 20 fractional ones (the most a shortest round-trip double has
/// without an exponent: 0.00012345678901234567) and 3 exponent digits. Strings hold
/// any character except `"`, `\` and controls, or an escape; a \u escape of
/// a UTF-16 surrogate must be one of a high-low pair, so every string the
/// grammar accepts decodes to valid Unicode and a pair counts as one
/// character for minLength/maxLength, as JSON Schema counts.
enum JSONSchemaPrimitive: CaseIterable, Hashable {
    case space, value, object, member, array, string, character, escape, hexDigit, nonSurrogateHex
    case number, integer, boolean, null
    case date, time, dateTime, year, leapYear, fourMultiple, dateString, timeString, dateTimeString, uuid

    var ruleName: String {
        switch self {
        case .space: return "space"
        case .value: return "value"
        case .object: return "object"
        case .member: return "member"
        case .array: return "array"
        case .string: return "string"
        case .character: return "char"
        case .escape: return "escape"
        case .hexDigit: return "hex"
        case .nonSurrogateHex: return "hex-non-surrogate"
        case .number: return "number"
        case .integer: return "integer"
        case .boolean: return "boolean"
        case .null: return "null"
        case .date: return "date"
        case .time: return "time"
        case .dateTime: return "date-time"
        case .year: return "year"
        case .leapYear: return "leap-year"
        case .fourMultiple: return "four-multiple"
        case .dateString: return "date-string"
        case .timeString: return "time-string"
        case .dateTimeString: return "date-time-string"
        case .uuid: return "uuid"
        }
    }

    var body: String {
        switch self {
        case .space:
            return #"" "? | "\n" [ \t]{0,20}"#
        case .value:
            return "object | array | string | number | boolean | null"
        case .object:
            return #""{" space (member ("," space member)*)? "}""#
        case .member:
            return #"string space ":" space value space"#
        case .array:
            return #""[" space (value space ("," space value space)*)? "]""#
        case .string:
            return #""\"" char* "\"""#
        case .character:
            // Not `"`, `\`, nor a control character (U+0000-U+001F).
            return #"[^\x00-\x1F\x22\x5C] | "\\" escape"#
        case .escape:
            return #"[\x22\x5C\x2Fbfnrt] | "u" (hex-non-surrogate | [dD] [89abAB] hex hex "\\u" [dD] [c-fC-F] hex hex)"#
        case .hexDigit:
            return "[0-9a-fA-F]"
        case .nonSurrogateHex:
            // Four hex digits outside D800-DFFF.
            return "[0-9a-cA-CeEfF] hex hex hex | [dD] [0-7] hex hex"
        case .number:
            return #"integer ("." [0-9]{1,20})? ([eE] [\x2B\x2D]? [0-9]{1,3})?"#
        case .integer:
            return #""-"? ("0" | [1-9] [0-9]{0,15})"#
        case .boolean:
            return #""true" | "false""#
        case .null:
            return #""null""#
        case .date:
            // Real calendar dates (Python's date.fromisoformat, which the
            // `jsonschema` format checker uses, refuses 2023-02-30).
            return #"year "-" (("0" [13578] | "1" [02]) "-" ("0" [1-9] | [12] [0-9] | "3" [01]) | ("0" [469] | "11") "-" ("0" [1-9] | [12] [0-9] | "30") | "02-" ("0" [1-9] | "1" [0-9] | "2" [0-8])) | leap-year "-02-29""#
        case .year:
            // 0001-9999: year 0 is not a date.
            return #"[1-9] [0-9]{3} | "0" [1-9] [0-9]{2} | "00" [1-9] [0-9] | "000" [1-9]"#
        case .leapYear:
            // Divisible by 4 and not by 100, or by 400.
            return #"[0-9] [0-9] four-multiple | four-multiple "00""#
        case .fourMultiple:
            // The two-digit multiples of 4 except 00.
            return #"[02468] [48] | [2468] "0" | [13579] [26]"#
        case .time:
            // RFC 3339 full-time: an offset is required.
            return #"([01] [0-9] | "2" [0-3]) ":" [0-5] [0-9] ":" [0-5] [0-9] ("." [0-9]{1,9})? ([Zz] | [\x2B\x2D] ([01] [0-9] | "2" [0-3]) ":" [0-5] [0-9])"#
        case .dateTime:
            return "date [Tt] time"
        case .dateString:
            return #""\"" date "\"""#
        case .timeString:
            return #""\"" time "\"""#
        case .dateTimeString:
            return #""\"" date-time "\"""#
        case .uuid:
            return #""\"" hex{8} "-" hex{4} "-" hex{4} "-" hex{4} "-" hex{12} "\"""#
        }
    }

    var dependencies: [JSONSchemaPrimitive] {
        switch self {
        case .value: return [.object, .array, .string, .number, .boolean, .null]
        case .object: return [.space, .member]
        case .member: return [.string, .space, .value]
        case .array: return [.space, .value]
        case .string: return [.character]
        case .character: return [.escape]
        case .escape: return [.nonSurrogateHex, .hexDigit]
        case .nonSurrogateHex: return [.hexDigit]
        case .number: return [.integer]
        case .date: return [.year, .leapYear]
        case .leapYear: return [.fourMultiple]
        case .dateTime: return [.date, .time]
        case .dateString: return [.date]
        case .timeString: return [.time]
        case .dateTimeString: return [.dateTime]
        case .uuid: return [.hexDigit]
        default: return []
        }
    }
}
