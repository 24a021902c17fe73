/// Executes a parsed template for one render: owns the output buffer, the
/// variable scopes and the safety budgets. Not shared between threads;
/// `ChatTemplate.render` makes a fresh one per call.
final class JinjaRenderer {
    enum Flow { case normal, breakLoop, continueLoop }

    /// Loop iterations and macro calls allowed per render: generous for any
    /// real conversation, but stops a hostile template long before it hangs.
    static let maxSteps = 2_000_000
    /// Data volume budget (list items copied, string bytes / 16): quadratic
    /// patterns like `ns.x = ns.x + [i]` in a long loop fail instead of stalling.
    static let maxWork = 100_000_000
    static let maxOutputBytes = 64 << 20
    static let maxCallDepth = 64

    /// frames[0] holds the render variables, frames[1] the template's own
    /// top-level `set`s; each loop iteration and macro call pushes one more.
    var frames: [[String: JinjaValue]]
    var output = ""
    private var steps = 0
    private var work = 0
    private var callDepth = 0
    /// Every namespace created, so render() can break reference cycles
    /// (`ns.x = [ns]`) that ARC alone would leak.
    var namespaces: [JinjaNamespace] = []

    init(variables: [String: JinjaValue]) {
        frames = [variables, [:]]
    }

    func render(_ nodes: [JinjaNode]) throws -> String {
        defer {
            for namespace in namespaces { namespace.attributes = JinjaDict() }
            frames = []
        }
        _ = try execute(nodes)
        return output
    }

    // MARK: scopes

    func lookup(_ name: String) -> JinjaValue {
        for frame in frames.reversed() {
            if let value = frame[name] { return value }
        }
        if let builtin = JinjaBuiltin(rawValue: name) { return .builtin(builtin) }
        return .undefined("'\(name)' is undefined")
    }

    private func assign(_ target: JinjaAssignTarget, _ value: JinjaValue) throws {
        // Only namespace attributes (and top-level sets) outlive a loop iteration,
        // so bounding their depth keeps any value from growing deep enough to
        // overflow the stack when printed, compared or freed.
        if case .attribute = target {
            try checkNesting(value)
        } else if frames.count <= 2 {
            try checkNesting(value)
        }
        switch target {
        case .name(let name):
            frames[frames.count - 1][name] = value
        case .names(let names):
            let items = try iterate(value)
            guard items.count == names.count else {
                throw JinjaFailure("cannot unpack \(items.count) value(s) into \(names.count) name(s)")
            }
            for (name, item) in zip(names, items) { frames[frames.count - 1][name] = item }
        case .attribute(let object, let attribute):
            guard case .namespace(let namespace) = lookup(object) else {
                throw JinjaFailure("cannot assign attribute on non-namespace object")
            }
            namespace.attributes.set(.string(attribute), value)
        }
    }

    private func checkNesting(_ value: JinjaValue) throws {
        switch value {
        case .list, .dict: break
        default: return
        }
        var visited = 0
        let depth = value.nestingDepth(limit: JinjaValue.maxNesting, visited: &visited)
        try charge(visited)
        if depth > JinjaValue.maxNesting { throw JinjaFailure("value nested more than \(JinjaValue.maxNesting) levels deep") }
    }

    /// Counts one unit of work against the runaway budget.
    func step() throws {
        steps += 1
        if steps > Self.maxSteps {
            throw JinjaFailure("template exceeded \(Self.maxSteps) loop iterations / macro calls (runaway loop?)")
        }
    }

    /// Charges data-volume work against the budget.
    func charge(_ units: Int) throws {
        work += units
        if work > Self.maxWork {
            throw JinjaFailure("template exceeded its work budget (runaway loop building large values?)")
        }
    }

    /// Charges for a freshly built value by its size (O(1) to measure).
    func chargeSize(of value: JinjaValue) throws {
        switch value {
        case .list(let items): try charge(items.count)
        case .string(let s): try charge(s.utf8.count / 16)
        case .dict(let d): try charge(d.entries.count)
        default: break
        }
    }

    private func write(_ text: String) throws {
        output += text
        if output.utf8.count > Self.maxOutputBytes {
            throw JinjaFailure("template output exceeded \(Self.maxOutputBytes) bytes")
        }
    }

    // MARK: statements

    func execute(_ nodes: [JinjaNode]) throws -> Flow {
        for node in nodes {
            switch node {
            case .text(let text):
                try write(text)
            case .output(let expr):
                let value = try evaluate(expr)
                do { try write(value.pythonString) } catch let f as JinjaFailure { throw f.positioned(at: expr.position) }
            case .conditional(let branches, let otherwise):
                var taken = false
                for branch in branches where try evaluate(branch.condition).isTruthy {
                    taken = true
                    let flow = try execute(branch.body)
                    if flow != .normal { return flow }
                    break
                }
                if !taken {
                    let flow = try execute(otherwise)
                    if flow != .normal { return flow }
                }
            case .forLoop(let loop):
                try executeFor(loop)
            case .set(let target, let expr, let position):
                let value = try evaluate(expr)
                do { try assign(target, value) } catch let f as JinjaFailure { throw f.positioned(at: position) }
            case .setBlock(let target, let body, let filters, let position):
                var value = JinjaValue.string(try capture(body))
                for filter in filters {
                    value = try applyFilter(filter.name, to: value, filter.arguments, at: filter.position)
                }
                do { try assign(target, value) } catch let f as JinjaFailure { throw f.positioned(at: position) }
            case .macro(let name, let parameters, let body):
                frames[frames.count - 1][name] = .macro(JinjaMacro(name: name, parameters: parameters, body: body))
            case .loopBreak:
                return .breakLoop
            case .loopContinue:
                return .continueLoop
            }
        }
        return .normal
    }

    /// Renders `body` into a string instead of the output (block `set`, macros).
    private func capture(_ body: [JinjaNode]) throws -> String {
        let saved = output
        output = ""
        defer { output = saved }
        _ = try execute(body)
        return output
    }

    private func executeFor(_ loop: JinjaForLoop) throws {
        let iterable = try evaluate(loop.iterable)
        var items: [JinjaValue]
        do { items = try iterate(iterable) } catch let f as JinjaFailure { throw f.positioned(at: loop.iterable.position) }
        if let filter = loop.filter {
            // `for x in xs if cond`: filtered before `loop.*` is computed, as in jinja2.
            items = try items.filter { item in
                try step()
                frames.append([:])
                defer { frames.removeLast() }
                do { try assign(loop.target, item) } catch let f as JinjaFailure { throw f.positioned(at: loop.position) }
                return try evaluate(filter).isTruthy
            }
        }
        if items.isEmpty {
            _ = try execute(loop.otherwise)
            return
        }
        let count = items.count
        for (i, item) in items.enumerated() {
            do { try step() } catch let f as JinjaFailure { throw f.positioned(at: loop.position) }
            var info = JinjaDict()
            info.entries.reserveCapacity(11)
            func add(_ name: String, _ value: JinjaValue) { info.entries.append(.init(key: .string(name), value: value)) }
            add("index", .int(i + 1))
            add("index0", .int(i))
            add("revindex", .int(count - i))
            add("revindex0", .int(count - i - 1))
            add("first", .bool(i == 0))
            add("last", .bool(i == count - 1))
            add("length", .int(count))
            add("depth", .int(1))
            add("depth0", .int(0))
            if i > 0 { add("previtem", items[i - 1]) }
            if i < count - 1 { add("nextitem", items[i + 1]) }
            // A fresh frame per iteration: plain `set` inside the body never leaks out.
            frames.append(["loop": .dict(info)])
            defer { frames.removeLast() }
            do { try assign(loop.target, item) } catch let f as JinjaFailure { throw f.positioned(at: loop.position) }
            let flow = try execute(loop.body)
            if flow == .breakLoop { break }
        }
    }

    // MARK: macros

    func callMacro(_ macro: JinjaMacro, _ arguments: JinjaArguments) throws -> JinjaValue {
        try step()
        guard callDepth < Self.maxCallDepth else { throw JinjaFailure("macro calls nested too deeply") }
        let bound = try arguments.bind(macro.parameters.map(\.name), function: macro.name)
        var frame: [String: JinjaValue] = [:]
        // Macros see the render variables and top-level sets, plus their arguments.
        let saved = frames
        frames = [frames[0], frames[1]]
        defer { frames = saved }
        for (parameter, value) in zip(macro.parameters, bound) {
            if let value {
                frame[parameter.name] = value
            } else if let defaultValue = parameter.defaultValue {
                frames.append(frame)
                frame[parameter.name] = try evaluate(defaultValue)
                frames.removeLast()
            } else {
                frame[parameter.name] = .undefined("parameter '\(parameter.name)' was not provided")
            }
        }
        frames.append(frame)
        callDepth += 1
        defer { callDepth -= 1 }
        return .string(try capture(macro.body))
    }
}
