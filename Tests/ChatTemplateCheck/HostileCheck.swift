// One hostile template per process, for Tests/python/test_hostile_templates.py:
// a crash (stack overflow, allocation failure, arithmetic trap) shows as the
// process dying by a signal; a clean refusal as a `.template` error.
import SwiftletCore
#if canImport(Glibc)
import Glibc
#endif

/// The conversation hostile templates render (their `messages`).
private let conversation = [
    ChatMessage(role: "system", content: "You are terse."),
    ChatMessage(role: "user", content: "Hello"),
    ChatMessage(role: "assistant", content: "Hi."),
    ChatMessage(role: "user", content: "x"),
]

/// A long conversation for budget checks: `count` messages alternating user
/// and assistant (after a system message), each `bytes` long.
func makeConversation(count: Int, bytes: Int) -> [ChatMessage] {
    let words = String(repeating: "word ", count: bytes / 5 + 1)
    let content = String(words.utf8.prefix(bytes))!
    return [ChatMessage(role: "system", content: "You are terse.")]
        + (0..<count).map { ChatMessage(role: $0 % 2 == 0 ? "user" : "assistant", content: content) }
}

/// `--render FILE [--parse-only] [--stack-kb N] [--conversation COUNT:BYTES]`: parses
/// the template in FILE (and renders it unless --parse-only, with a short
/// conversation or the one given), on a thread with an N KiB stack if
/// given, then prints "ok <bytes rendered>" (exit 0) or "template error: <message>"
/// (exit 3), plus "stack used: <bytes> (work <bytes>)" when run on a small stack (all of
/// it, and below the thread's first frame), plus
/// "seconds: <t>". Parsing and releasing the template both happen on that thread.
func runHostileTemplate(path: String, parseOnly: Bool, stackKiB: Int?, messages: [ChatMessage]?) -> Int32 {
    let messages = messages ?? conversation
    guard let source = readFile(path) else {
        print("cannot read \(path)")
        return 2
    }
    final class Outcome { var line = ""; var status: Int32 = 0 }
    let outcome = Outcome()
    let start = monotonicSeconds()
    let work = {
        do {
            let template = try ChatTemplate(source: source)
            if parseOnly {
                outcome.line = "ok parsed"
                return
            }
            let text = try template.render(messages: messages, addGenerationPrompt: true,
                                           bosToken: "<s>", eosToken: "</s>")
            outcome.line = "ok \(text.utf8.count)"
        } catch let error as SwiftletError where error.kind == .template {
            outcome.line = "template error: \(error.message)"
            outcome.status = 3
        } catch {
            outcome.line = "other error: \(error)"
            outcome.status = 4
        }
    }
    if let stackKiB {
        guard let used = runOnSmallStack(stackBytes: stackKiB * 1024, work) else {
            print("could not start a thread with a \(stackKiB) KiB stack")
            return 2
        }
        print("stack used: \(used.total) (work \(used.work))")
    } else {
        work()
    }
    print(outcome.line)
    print("seconds: \(monotonicSeconds() - start)")
    return outcome.status
}

/// `--load-model GGUF`: loads the model (its template parsed at load), then
/// chats with the model's own template and with ChatML given by the caller.
/// Prints "loaded", then "own template: ok <bytes>" or "own template: <kind> error: <message>",
/// then the same for "caller template". Exit 0 when both lines were printed, 4 when loading failed.
func runModelTemplateCheck(path: String) -> Int32 {
    let model: LanguageModel
    do {
        model = try LanguageModel(path: path, loadThreads: 1)
    } catch {
        print("load error: \(error)")
        return 4
    }
    print("loaded")
    for (label, templateSource) in [("own template", nil), ("caller template", ChatTemplate.chatML)] {
        do {
            let text = try model.renderChat(conversation, addGenerationPrompt: true, templateSource: templateSource)
            print("\(label): ok \(text.utf8.count)")
        } catch let error as SwiftletError {
            print("\(label): \(error.kind) error: \(error.message)")
        } catch {
            print("\(label): other error: \(error)")
        }
    }
    return 0
}
