/// `a.b`, `a[b]`, `a[x:y:z]` and iteration, with jinja2's forgiving lookup:
/// a missing key or attribute is Undefined (an error only when used further).
enum JinjaAccess {
    static func attribute(of value: JinjaValue, _ name: String, _ budget: JinjaBudget) throws -> JinjaValue {
        switch value {
        case .undefined(let message):
            throw JinjaFailure(message)
        case .dict(let dict):
            return try dict.value(named: name, budget) ?? .undefined("'dict object' has no attribute '\(name)'")
        case .namespace(let namespace):
            return try namespace.attributes.value(named: name, budget) ?? .undefined("'Namespace object' has no attribute '\(name)'")
        default:
            return .undefined("'\(value.typeName) object' has no attribute '\(name)'")
        }
    }

    static func item(of value: JinjaValue, _ key: JinjaValue, _ budget: JinjaBudget) throws -> JinjaValue {
        switch value {
        case .undefined(let message):
            throw JinjaFailure(message)
        case .dict(let dict):
            if let found = try dict.value(for: key, budget) { return found }
            return .undefined("'dict object' has no attribute \(key.shortRepr)")
        case .list(let items):
            if let i = integerIndex(key) {
                let index = i < 0 ? i + items.count : i
                if index >= 0 && index < items.count { return items[index] }
                return .undefined("'list object' has no element \(i)")
            }
        case .string(let text):
            if let i = integerIndex(key) {
                if let scalar = PythonString.scalar(at: i, in: text) { return .string(scalar) }
                return .undefined("'str object' has no element \(i)")
            }
        default:
            break
        }
        // jinja2 falls back to attribute lookup for string keys.
        if case .string(let name) = key { return try attribute(of: value, name, budget) }
        return .undefined("'\(value.typeName) object' has no element \(key.shortRepr)")
    }

    /// Ints and bools index sequences (True is 1 in Python); floats do not.
    private static func integerIndex(_ key: JinjaValue) -> Int? {
        switch key {
        case .int(let i): return i
        case .bool(let b): return b ? 1 : 0
        default: return nil
        }
    }

    static func slice(_ value: JinjaValue, start: JinjaValue?, stop: JinjaValue?, step: JinjaValue?,
                      _ budget: JinjaBudget) throws -> JinjaValue {
        func bound(_ v: JinjaValue?) throws -> Int? {
            guard let v else { return nil }
            if case .none = v { return nil }
            if case .float = v { throw JinjaFailure("slice indices must be integers or None") }
            guard case .int(let i)? = v.numeric else { throw JinjaFailure("slice indices must be integers or None") }
            return i
        }
        if case .undefined(let message) = value { throw JinjaFailure(message) }
        let stepValue = try bound(step) ?? 1
        guard stepValue != 0 else { throw JinjaFailure("slice step cannot be zero") }
        let (startValue, stopValue) = (try bound(start), try bound(stop))
        switch value {
        case .list(let items):
            return .list(pythonSlice(items, startValue, stopValue, stepValue))
        case .string(let text):
            if stepValue != 1 { try budget.chargeCodePointWork(text) }
            return .string(PythonString.slice(text, start: startValue, stop: stopValue, step: stepValue))
        default:
            return .undefined("'\(value.typeName) object' is not subscriptable")
        }
    }

    /// Python's slice.indices: where `seq[start:stop:step]` of a `count`-long
    /// sequence starts and stops (a walk from the first while before the second).
    static func sliceBounds(count n: Int, _ start: Int?, _ stop: Int?, step: Int) -> (start: Int, stop: Int) {
        func clamp(_ v: Int?, _ defaultValue: Int, low: Int, high: Int) -> Int {
            guard var v else { return defaultValue }
            if v < 0 { v += n }   // no overflow: v < 0 <= n
            return min(max(v, low), high)
        }
        if step > 0 { return (clamp(start, 0, low: 0, high: n), clamp(stop, n, low: 0, high: n)) }
        return (clamp(start, n - 1, low: -1, high: n - 1), clamp(stop, -1, low: -1, high: n - 1))
    }

    static func pythonSlice<T>(_ items: [T], _ start: Int?, _ stop: Int?, _ step: Int) -> [T] {
        let (s, e) = sliceBounds(count: items.count, start, stop, step: step)
        var result: [T] = []
        // A step past the end of the sequence ends the walk (i + step could overflow).
        if step > 0 {
            var i = s
            while i < e {
                result.append(items[i])
                guard step < e - i else { break }
                i += step
            }
        } else {
            var i = s
            while i > e {
                result.append(items[i])
                guard step.magnitude < UInt(i - e) else { break }
                i += step
            }
        }
        return result
    }

    static func iterate(_ value: JinjaValue) throws -> [JinjaValue] {
        switch value {
        case .undefined: return []
        case .list(let items): return items
        case .string(let text):
            // One value per code point: counted before they are made.
            try JinjaLimits.checkList(count: PythonString.scalarCount(text))
            return text.unicodeScalars.map { .string(String($0)) }
        case .dict(let dict): return dict.entries.map(\.key)
        default: throw JinjaFailure("'\(value.typeName)' object is not iterable")
        }
    }
}
