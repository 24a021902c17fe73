/// Executes a parsed template for one render: owns the output buffer, the
/// variable scopes and the safety budgets. Not shared between threads;
/// `ChatTemplate.render` makes a fresh one per call.
final class JinjaRenderer {
    enum Flow { case normal, breakLoop, continueLoop }

    /// frames[0] holds the render variables, frames[1] the template's own
    /// top-level `set`s; each loop iteration and macro call pushes one more.
    var frames: [[String: JinjaValue]]
    var output = ""
    /// Bytes held by the outputs that `capture` set aside (macro calls and
    /// block sets nest): they count against the same output budget.
    private var setAsideOutputBytes = 0
    /// JinjaLimits' budgets, spent as the render goes.
    let budget = JinjaBudget()
    private var evaluationDepth = 0
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
        // A value grows deeper only by being wrapped and stored again
        // (`{% set x = [x] %}`), so bounding what is stored keeps every value
        // shallow enough to print, compare and free on a small stack.
        try checkNesting(value)
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
            try namespace.attributes.set(.string(attribute), value, budget)
        }
    }

    private func checkNesting(_ value: JinjaValue) throws {
        switch value {
        case .list, .dict: break
        default: return
        }
        var visited = 0
        let depth = value.nestingDepth(limit: JinjaLimits.maxValueNesting, visited: &visited)
        try charge(visited * MemoryLayout<JinjaValue>.stride)
        if depth > JinjaLimits.maxValueNesting { throw JinjaFailure("value nested more than \(JinjaLimits.maxValueNesting) levels deep") }
    }

    func step() throws { try budget.step() }

    func charge(_ bytes: Int) throws { try budget.charge(bytes) }

    /// Charges for a value made or scanned, by its size (O(1) to measure),
    /// and refuses a string past JinjaLimits.maxStringBytes (a filter like
    /// `upper` or `escape` may grow its input by a small factor).
    func chargeSize(of value: JinjaValue) throws {
        try charge(Self.size(of: value))
        if case .string(let s) = value { try JinjaLimits.checkString(byteCount: s.utf8.count) }
    }

    /// Bytes a value holds at its top level: a string's UTF-8, a container's slots.
    static func size(of value: JinjaValue) -> Int {
        switch value {
        case .list(let items): return items.count * MemoryLayout<JinjaValue>.stride
        case .string(let s): return s.utf8.count
        case .dict(let d): return d.entries.count * MemoryLayout<JinjaDict.Entry>.stride
        default: return 0
        }
    }

    /// One more level of recursion (an expression, a statement body, a macro
    /// call), refused past JinjaLimits.maxEvaluationDepth so a render fits a
    /// small thread stack whatever macros call whatever.
    func enter(weight: Int = 1) throws {
        evaluationDepth += weight
        if evaluationDepth > JinjaLimits.maxEvaluationDepth {
            evaluationDepth -= weight
            throw JinjaFailure("template nested too deeply while rendering (recursion?)")
        }
    }

    func leave(weight: Int = 1) { evaluationDepth -= weight }

    /// Appends to the output, measured first against JinjaLimits.maxOutputBytes.
    private func write(_ text: String) throws {
        guard text.utf8.count <= JinjaLimits.maxOutputBytes - setAsideOutputBytes - output.utf8.count else {
            throw JinjaFailure("template output exceeds \(JinjaLimits.maxOutputBytes) bytes")
        }
        output += text
    }

    // MARK: statements

    func execute(_ nodes: [JinjaNode]) throws -> Flow {
        try enter(weight: JinjaLimits.statementWeight)
        defer { leave(weight: JinjaLimits.statementWeight) }
        for node in nodes {
            switch node {
            case .text(let text):
                try write(text)
            case .output(let expr):
                let value = try evaluate(expr)
                do { try write(try value.pythonString()) } catch let f as JinjaFailure { throw f.positioned(at: expr.position) }
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
                do { try chargeSize(of: value) } catch let f as JinjaFailure { throw f.positioned(at: position) }
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
        setAsideOutputBytes += saved.utf8.count
        output = ""
        defer {
            output = saved
            setAsideOutputBytes -= saved.utf8.count
        }
        _ = try execute(body)
        return output
    }

    private func executeFor(_ loop: JinjaForLoop) throws {
        let iterable = try evaluate(loop.iterable)
        var items: [JinjaValue]
        do {
            items = try iterate(iterable)
            // A list is iterated in place; a string or dict makes a new list of items.
            if case .list = iterable {} else { try charge(items.count * MemoryLayout<JinjaValue>.stride) }
        } catch let f as JinjaFailure {
            throw f.positioned(at: loop.iterable.position)
        }
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
        // Counted from the start: default arguments may call macros too.
        try enter(weight: JinjaLimits.macroCallWeight)
        defer { leave(weight: JinjaLimits.macroCallWeight) }
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
        let result = try capture(macro.body)
        try charge(result.utf8.count)
        return .string(result)
    }
}
