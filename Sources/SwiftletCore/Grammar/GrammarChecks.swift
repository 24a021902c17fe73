/// The checks a grammar must pass before a matcher may run it:
/// - no left recursion (a rule reaching itself before reading a byte would
///   expand forever), found through the rules that can match nothing;
/// - a root that can finish on some string (else every generation dead-ends).
/// Every pass is linear in the grammar's size, so a huge grammar stays cheap.
struct GrammarChecks {
    let rules: [[[Int32]]]
    let names: [String]

    func check(root: Int32, places: [String: SourcePlace]) throws(SwiftletError) {
        let nullable = derivable(terminalsDerive: false)
        if let cycle = leftRecursion(nullable: nullable) {
            // Generated rules carry their rule's name: say each name once in a row.
            var path = cycle.dropLast().map { names[Int($0)] }.reduce(into: [String]()) { path, name in
                if path.last != name { path.append(name) }
            }
            path.append(names[Int(cycle[0])])
            let name = names[Int(cycle[0])]
            let place = places[name].map { " \($0)" } ?? ""
            throw SwiftletError.invalidArgument("grammar\(place): rule \"\(name)\" is left-recursive (\(path.joined(separator: " → "))"
                                                + "): it can reach itself before reading anything")
        }
        guard derivable(terminalsDerive: true)[Int(root)] else {
            throw SwiftletError.invalidArgument("grammar: the language is empty: rule \"\(names[Int(root)])\" can never finish")
        }
    }

    /// For each rule, whether some alternative derives a string when a byte
    /// set does (`terminalsDerive`: can the rule finish at all?) or does not
    /// (can it match the empty string?). A worklist: each rule found
    /// derivable counts down the alternatives that use it.
    private func derivable(terminalsDerive: Bool) -> [Bool] {
        var result = [Bool](repeating: false, count: rules.count)
        var pending: [[Int]] = rules.map { $0.map { _ in 0 } }
        var users = [[(rule: Int, alternative: Int)]](repeating: [], count: rules.count)
        var queue: [Int] = []
        for (r, alternatives) in rules.enumerated() {
            for (a, symbols) in alternatives.enumerated() {
                var count = 0
                var blocked = false
                for symbol in symbols {
                    if symbol >= 0 {
                        blocked = blocked || !terminalsDerive
                    } else {
                        count += 1
                        users[Int(Grammar.rule(symbol))].append((r, a))
                    }
                }
                pending[r][a] = blocked ? Int.max : count
                if count == 0 && !blocked && !result[r] { result[r] = true; queue.append(r) }
            }
        }
        while let rule = queue.popLast() {
            for (r, a) in users[rule] where pending[r][a] != Int.max {
                pending[r][a] -= 1
                if pending[r][a] == 0 && !result[r] { result[r] = true; queue.append(r) }
            }
        }
        return result
    }

    /// A cycle of rules each reaching the next before any byte, or nil.
    private func leftRecursion(nullable: [Bool]) -> [Int32]? {
        let edges: [[Int32]] = rules.map { alternatives in
            var targets: [Int32] = []
            for symbols in alternatives {
                for symbol in symbols {
                    guard symbol < 0 else { break }
                    let rule = Grammar.rule(symbol)
                    targets.append(rule)
                    if !nullable[Int(rule)] { break }
                }
            }
            return targets
        }
        // Iterative depth-first search: 0 unvisited, 1 on the path, 2 done.
        var color = [UInt8](repeating: 0, count: rules.count)
        for start in rules.indices where color[start] == 0 {
            var path: [(rule: Int32, next: Int)] = [(Int32(start), 0)]
            color[start] = 1
            while let (rule, next) = path.last {
                let targets = edges[Int(rule)]
                guard next < targets.count else {
                    color[Int(rule)] = 2
                    path.removeLast()
                    continue
                }
                path[path.count - 1].next += 1
                let target = targets[next]
                switch color[Int(target)] {
                case 0:
                    color[Int(target)] = 1
                    path.append((target, 0))
                case 1:
                    let from = path.firstIndex { $0.rule == target }!
                    return path[from...].map(\.rule) + [target]
                default:
                    break
                }
            }
        }
        return nil
    }
}
