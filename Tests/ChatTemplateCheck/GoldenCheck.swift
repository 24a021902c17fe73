// The golden check: every case of Tests/goldens/chat_templates.json must
// render byte-for-byte as jinja2 did, or fail where jinja2 failed
// (raise_exception messages verbatim). Then a few hostile templates must fail
// cleanly and fast in this process (the ones that could crash it run one per
// process: Tests/python/test_hostile_templates.py).
import SwiftletCore
#if canImport(Glibc)
import Glibc
#endif

func runGoldenCheck(goldensPath path: String, verbose: Bool, goldensOnly: Bool) -> Int32 {
    guard let text = readFile(path), let golden = try? JSONValue.parse(text, what: path),
          let templateSources = golden["templates"]?.object?.members, let cases = golden["cases"]?.array else {
        print("cannot read \(path)")
        return 2
    }

    var compiled: [String: Result<ChatTemplate, Error>] = [:]
    for (name, source) in templateSources {
        compiled[name] = Result { try ChatTemplate(source: source.string!) }
    }

    var passed = 0, failed = 0, errorCases = 0
    for testCase in cases {
        let name = testCase["name"]!.string!
        let messages = testCase["messages"]!.array!.map { ChatMessage(role: $0["role"]!.string!, content: $0["content"]!.string!) }
        var actual: Result<String, Error>
        switch compiled[testCase["template"]!.string!]! {
        case .failure(let error): actual = .failure(error)
        case .success(let template):
            actual = Result {
                try template.render(messages: messages, addGenerationPrompt: testCase["add_generation_prompt"]!.bool!,
                                    bosToken: testCase["bos_token"]!.string!, eosToken: testCase["eos_token"]!.string!)
            }
        }
        if let expected = testCase["expected"]?.string {
            switch actual {
            case .success(let output) where Array(output.utf8) == Array(expected.utf8):
                passed += 1
            case .success(let output):
                failed += 1
                print("FAIL \(name)\n  expected: \(expected.debugDescription)\n  actual:   \(output.debugDescription)")
            case .failure(let error):
                failed += 1
                print("FAIL \(name): unexpected error \(error)\n  expected: \(expected.debugDescription)")
            }
        } else {
            errorCases += 1
            let expectedError = testCase["error"]!.string!
            switch actual {
            case .success(let output):
                failed += 1
                print("FAIL \(name): expected error \(expectedError), got \(output.debugDescription)")
            case .failure(let error):
                guard let swiftletError = error as? SwiftletError, case .template = swiftletError.kind else {
                    failed += 1
                    print("FAIL \(name): wrong error type \(error)")
                    continue
                }
                // raise_exception messages must come through verbatim.
                let raisedPrefix = "TemplateError: "
                if expectedError.hasPrefix(raisedPrefix),
                   !swiftletError.message.hasSuffix(": " + String(expectedError.dropFirst(raisedPrefix.count))) {
                    failed += 1
                    print("FAIL \(name): message \(swiftletError.message.debugDescription) lacks \(expectedError.debugDescription)")
                } else {
                    passed += 1
                    if verbose { print("ok error \(name): \(swiftletError.message)") }
                }
            }
        }
    }
    print("goldens: \(passed) passed, \(failed) failed, of \(cases.count) cases (\(errorCases) expected errors)")
    fflush(nil)
    if goldensOnly { return failed == 0 ? 0 : 1 }
    let robustFailures = runRobustnessChecks(verbose: verbose)
    print("robustness: \(robustFailures) failures")
    return failed == 0 && robustFailures == 0 ? 0 : 1
}

/// Hostile templates that must fail cleanly and quickly, never crash or hang.
private func runRobustnessChecks(verbose: Bool) -> Int {
    var failures = 0
    func expectTemplateError(_ label: String, _ source: String) {
        let start = monotonicSeconds()
        defer { if verbose { print("  (\(Int((monotonicSeconds() - start) * 1000)) ms) \(label)") } }
        do {
            let template = try ChatTemplate(source: source)
            let output = try template.render(messages: [ChatMessage(role: "user", content: "x")], addGenerationPrompt: true,
                                             bosToken: "", eosToken: "")
            failures += 1
            print("ROBUST FAIL \(label): rendered \(output.utf8.count) bytes instead of failing")
        } catch let error as SwiftletError {
            if verbose { print("ok \(label): \(error.message)") }
        } catch {
            failures += 1
            print("ROBUST FAIL \(label): \(error)")
        }
    }
    expectTemplateError("nested loops (runaway)", "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}")
    expectTemplateError("huge repetition", "{{ 'x' * 1000000000000 }}")
    expectTemplateError("output growth", "{% set ns = namespace(s='xxxxxxxxxxxxxxxx') %}{% for i in range(40) %}{% set ns.s = ns.s + ns.s %}{% endfor %}{{ ns.s }}")
    expectTemplateError("recursive macro", "{% macro f(n) %}{{ f(n + 1) }}{% endmacro %}{{ f(0) }}")
    expectTemplateError("deep parentheses", String(repeating: "(", count: 10000) + "{{ " + String(repeating: "(", count: 10000) + "1" + String(repeating: ")", count: 10000) + " }}")
    expectTemplateError("deep nesting of blocks", String(repeating: "{% if true %}", count: 5000) + String(repeating: "{% endif %}", count: 5000))
    expectTemplateError("deeply nested value", "{% set ns = namespace(x=[]) %}{% for i in range(100000) %}{% set ns.x = [ns.x] %}{% endfor %}{{ ns.x | tojson }}")
    expectTemplateError("replace blowup", "{% set s = 'x' * 1000000 %}{{ s.replace('x', s) }}")
    expectTemplateError("indent blowup", "{{ 'a' | indent(1000000000000) }}")
    expectTemplateError("quadratic list growth", "{% set ns = namespace(x=[]) %}{% for i in range(100000) %}{% for j in range(10) %}{% set ns.x = ns.x + [i] %}{% endfor %}{% endfor %}")
    expectTemplateError("quadratic string growth", "{% set ns = namespace(x='') %}{% for i in range(100000) %}{% for j in range(10) %}{% set ns.x = ns.x ~ 'abcdefghijklmnopqrstuvwxyz' %}{% endfor %}{% endfor %}")
    expectTemplateError("self-referencing namespace", "{% set ns = namespace(x=1) %}{% set ns.x = [ns] %}{{ ns.x }}{{ raise_exception('done') }}")
    expectTemplateError("int overflow", "{{ 9223372036854775807 + 1 }}")
    expectTemplateError("pow overflow", "{{ 2 ** 200 }}")
    expectTemplateError("huge literal", "{{ 99999999999999999999999 }}")
    expectTemplateError("bad escape", "{{ '\\x4' }}")
    expectTemplateError("unterminated string", "{{ 'abc }}")
    expectTemplateError("unclosed comment", "{# never closed")
    expectTemplateError("mismatched bracket", "{{ (1] }}")
    expectTemplateError("raise", "{{ raise_exception('boom') }}")
    // ChatML fallback renders.
    let chatML = try! ChatTemplate(source: ChatTemplate.chatML)
    let rendered = try! chatML.render(messages: [ChatMessage(role: "user", content: "Hi")], addGenerationPrompt: true, bosToken: "", eosToken: "")
    if rendered != "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n" { failures += 1; print("ROBUST FAIL chatML: \(rendered.debugDescription)") }
    return failures
}

func monotonicSeconds() -> Double {
    var now = timespec()
    clock_gettime(CLOCK_MONOTONIC, &now)
    return Double(now.tv_sec) + Double(now.tv_nsec) / 1e9
}

func readFile(_ path: String) -> String? {
    guard let file = fopen(path, "rb") else { return nil }
    defer { fclose(file) }
    var bytes: [UInt8] = []
    var buffer = [UInt8](repeating: 0, count: 65536)
    while true {
        let n = fread(&buffer, 1, buffer.count, file)
        if n <= 0 { break }
        bytes += buffer[0..<n]
    }
    return String(decoding: bytes, as: UTF8.self)
}
