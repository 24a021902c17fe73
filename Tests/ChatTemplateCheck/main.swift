// Test driver for SwiftletCore's chat templates (the C API renders only a
// model's own template, so the Python tests reach the engine through here).
//
// Usage (from the repository root):
//   ChatTemplateCheck [GOLDENS=Tests/goldens/chat_templates.json] [-v] [--goldens-only]
//       every golden case against jinja2's rendering, then in-process robustness checks
//       (GoldenCheck.swift; Tests/python/test_chat_templates.py)
//   ChatTemplateCheck --render FILE [--parse-only] [--stack-kb N] [--conversation COUNT:BYTES]
//       one hostile template per process (HostileCheck.swift; Tests/python/test_hostile_templates.py)
//   ChatTemplateCheck --load-model GGUF
//       a model whose template does not parse still loads; chat with it fails with .template
// `make` builds it into build/test-bin/chat-template-check.
#if canImport(Glibc)
import Glibc
#endif

let arguments = CommandLine.arguments

func option(_ name: String) -> String? {
    guard let i = arguments.firstIndex(of: name), i + 1 < arguments.count else { return nil }
    return arguments[i + 1]
}

let status: Int32
if let path = option("--render") {
    let size = option("--conversation")?.split(separator: ":").compactMap { Int($0) }
    let messages = size.map { makeConversation(count: $0.first ?? 0, bytes: $0.last ?? 0) }
    status = runHostileTemplate(path: path, parseOnly: arguments.contains("--parse-only"),
                                stackKiB: option("--stack-kb").flatMap { Int($0) },
                                messages: messages)
} else if let path = option("--load-model") {
    status = runModelTemplateCheck(path: path)
} else {
    let goldens = arguments.dropFirst().first { !$0.hasPrefix("-") } ?? "Tests/goldens/chat_templates.json"
    status = runGoldenCheck(goldensPath: goldens, verbose: arguments.contains("-v"),
                            goldensOnly: arguments.contains("--goldens-only"))
}
fflush(nil)
exit(status)
