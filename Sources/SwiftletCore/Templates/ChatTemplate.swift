/// A model's chat template (GGUF `tokenizer.chat_template`, a Jinja2 string),
/// parsed once and rendered for any conversation. Rendering matches Hugging
/// Face `apply_chat_template`: jinja2 with trim_blocks and lstrip_blocks,
/// `raise_exception`, and Python-`json.dumps` `tojson`.
///
/// Immutable after init, so one instance may render on many threads.
/// Every failure — syntax errors, unknown filters/tests, `raise_exception`,
/// runaway loops, limits (JinjaLimits) — is a `SwiftletError` of kind `.template`.
public final class ChatTemplate: Sendable {
    public let source: String
    /// The parsed template, or why it did not parse.
    private let program: Result<[JinjaNode], SwiftletError>

    /// Parses `source`; throws `.template` with line and column on syntax errors.
    public convenience init(source: String) throws {
        self.init(keepingErrorsOf: source)
        if let parseError { throw parseError }
    }

    /// Parses `source` and keeps a syntax error for `render` to throw. A
    /// model's template may use Jinja this renderer lacks (`center`, recursive
    /// loops...): the model still loads, and only chat with it fails.
    public init(keepingErrorsOf source: String) {
        self.source = source
        do {
            program = .success(try JinjaParser.parse(source))
        } catch let error as SwiftletError {
            program = .failure(error)
        } catch {
            program = .failure(SwiftletError(.template, "chat template error: \(error)"))
        }
    }

    /// The syntax error `render` throws, if `source` did not parse.
    public var parseError: SwiftletError? {
        if case .failure(let error) = program { return error }
        return nil
    }

    /// Renders the conversation. `addGenerationPrompt` asks the template to end
    /// with the header of a new assistant turn.
    public func render(messages: [ChatMessage], addGenerationPrompt: Bool,
                       bosToken: String, eosToken: String) throws -> String {
        let messageValues: [JinjaValue] = messages.map { message in
            .dict(JinjaDict(entries: [.init(key: .string("role"), value: .string(message.role)),
                                      .init(key: .string("content"), value: .string(message.content))]))
        }
        // The variables transformers passes: tools/documents are None when absent.
        let renderer = JinjaRenderer(variables: [
            "messages": .list(messageValues),
            "add_generation_prompt": .bool(addGenerationPrompt),
            "bos_token": .string(bosToken),
            "eos_token": .string(eosToken),
            "tools": .none,
            "documents": .none,
        ])
        do {
            return try renderer.render(try program.get())
        } catch let failure as JinjaFailure {
            // Failures are positioned where they happen; this is only a backstop.
            throw SwiftletError(.template, "chat template error: \(failure.message)")
        }
    }

    /// ChatML (`<|im_start|>role\ncontent<|im_end|>\n`), the fallback for
    /// models whose GGUF carries no template (unless they are Gemma's, below).
    public static let chatML = """
        {% for message in messages %}{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n' }}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}
        """

    /// Gemma's turns (`<start_of_turn>user\n…<end_of_turn>\n`, the
    /// assistant called `model`, system text put before the first turn as
    /// Gemma's own template does), the fallback for Gemma vocabularies.
    public static let gemmaTurns = """
        {{ bos_token }}{% set ns = namespace(prefix='') %}{% for message in messages %}{% if message['role'] == 'system' %}{% set ns.prefix = ns.prefix + message['content'] | trim + '\n\n' %}{% else %}{% set role = 'model' if message['role'] == 'assistant' else message['role'] %}{{ '<start_of_turn>' + role + '\n' + ns.prefix + message['content'] | trim + '<end_of_turn>\n' }}{% set ns.prefix = '' %}{% endif %}{% endfor %}{% if add_generation_prompt %}{{ '<start_of_turn>model\n' }}{% endif %}
        """
}
