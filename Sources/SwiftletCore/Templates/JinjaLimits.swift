/// The bounds that keep a hostile or buggy chat template (code inside a model
/// file) from crashing its host: every recursion has a depth limit, and every
/// value is measured before it is built. A template that passes a limit fails
/// with a `.template` error; none comes near what a real one needs.
///
/// Stack: a host may render on a worker thread with a 256 KiB stack (game
/// engines do), of which glibc keeps ~64 KiB for the thread's TLS (OpenBLAS's
/// alone is 60 KiB). Tests/python/test_hostile_templates.py renders the
/// deepest template each limit allows on such a thread: the worst used 93 KiB
/// (a 99-deep value through `tojson` at the bottom of a 94-deep expression
/// inside 27 blocks), leaving ~100 KiB spare.
///
/// Memory: a host may run under a 1 GB address-space limit. The budgets bound
/// what a render can allocate in all, so the hostile templates of those tests
/// fail within a second using a small part of it.
enum JinjaLimits {
    // MARK: depth

    /// Deepest expression tree (a node is 1 + its deepest child; chains count:
    /// `a+b+c` is 3, `x|f|g` is 3). Evaluating and releasing a tree recurse
    /// this deep, 230–410 bytes of stack a level. The real templates of
    /// Tests/goldens/chat_templates.json reach 12 (Qwen3).
    static let maxExpressionDepth = 100

    /// Statement bodies, parentheses, brackets and call arguments nested inside
    /// each other while parsing (`{% if %}` in `{% for %}`, `f((x))`): the
    /// parser recurses only there, 0.9–2.5 KiB of stack a level. The real
    /// templates reach 7 (Qwen3: 4 blocks, then an expression with brackets).
    static let maxParseNesting = 32

    /// One render's recursion, counted in units of at most ~400 bytes of
    /// stack: each expression node being evaluated adds 1, each statement body
    /// being executed `statementWeight` (~580 bytes), each macro call
    /// `macroCallWeight` (its own frames; its body counts as statements and
    /// expressions). It bounds what macros calling macros can reach; a
    /// template without macros needs at most
    /// `maxParseNesting × statementWeight + maxExpressionDepth` = 164 units.
    static let maxEvaluationDepth = 200
    static let statementWeight = 2
    static let macroCallWeight = 3

    /// Containers nested inside each other in a stored value (`[[[...]]]`),
    /// which printing, comparing, `tojson` and releasing walk recursively,
    /// 200–700 bytes of stack a level. Python's json gives up at ~1000; real
    /// tool schemas nest under 20.
    static let maxValueNesting = 100

    // MARK: size

    /// One string (and the rendered prompt as a whole): 16 MiB is ~4 million
    /// tokens, 30× the longest context of a model we run.
    static let maxStringBytes = 16 << 20
    static let maxOutputBytes = maxStringBytes

    /// One list: 1 Mi items (24 MiB of values).
    static let maxListCount = 1 << 20

    /// Bytes of values one render may create, copy, compare or scan, in total
    /// (strings count their UTF-8 bytes, list and dict slots
    /// `MemoryLayout<JinjaValue>.stride` each; JinjaBudget). It bounds the
    /// memory alive at once and the time: the slowest pipelines (printing a
    /// list of long strings, escaping) run ~12 ns a byte, so 64 MiB is 0.8 s
    /// at worst. A real render of a 128K-token conversation spends a few MiB.
    static let maxWorkBytes = 64 << 20

    /// What a byte of work done code point by code point costs, in bytes of
    /// the budget above: Swift's case mapping and per-code-point loops run at
    /// 50–300 ns a byte where copying and comparing run at ~1, so a template
    /// can ask for 1 MiB of those (0.3 s at worst) in one render.
    static let codePointWorkWeight = 64

    /// Loop iterations and macro calls per render, 2–10 µs each (0.5 s at
    /// most). A real conversation needs (messages × tools × content parts):
    /// thousands.
    static let maxSteps = 50_000

    static func checkString(byteCount: Int) throws {
        if byteCount > maxStringBytes { throw JinjaFailure("string result exceeds \(maxStringBytes) bytes") }
    }

    static func checkList(count: Int) throws {
        if count > maxListCount { throw JinjaFailure("list result exceeds \(maxListCount) items") }
    }
}

/// A string built piece by piece that refuses to grow past a limit, so
/// printing or encoding a value never allocates more than it may keep.
struct JinjaTextBuffer {
    private(set) var text = ""
    let limit: Int

    init(limit: Int = JinjaLimits.maxStringBytes) {
        self.limit = limit
    }

    mutating func append(_ piece: String) throws {
        guard piece.utf8.count <= limit - text.utf8.count else {
            throw JinjaFailure("string result exceeds \(limit) bytes")
        }
        text += piece
    }
}
