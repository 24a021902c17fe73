/// `a.b`, `a[b]`, `a[x:y:z]` and iteration, with jinja2's forgiving lookup:
/// a missing key or attribute is Undefined (an error only when used further).
enum JinjaAccess {
    static func attribute(of value: JinjaValue, _ name: String) throws -> JinjaValue {
        switch value {
        case .undefined(let message):
            throw JinjaFailure(message)
        case .dict(let dict):
            return dict[name] ?? .undefined("'dict object' has no attribute '\(name)'")
        case .namespace(let namespace):
            return namespace.attributes[name] ?? .undefined("'Namespace object' has no attribute '\(name)'")
        default:
            return .undefined("'\(value.typeName) object' has no attribute '\(name)'")
        }
    }

    static func item(of value: JinjaValue, _ key: JinjaValue) throws -> JinjaValue {
        switch value {
        case .undefined(let message):
            throw JinjaFailure(message)
        case .dict(let dict):
            if let found = dict[key] { return found }
            return .undefined("'dict object' has no attribute \(key.pythonRepr)")
        case .list(let items):
            if let i = integerIndex(key) {
                let index = i < 0 ? i + items.count : i
                if index >= 0 && index < items.count { return items[index] }
                return .undefined("'list object' has no element \(i)")
            }
        case .string(let text):
            if let i = integerIndex(key) {
                let scalars = text.pythonScalars
                let index = i < 0 ? i + scalars.count : i
                if index >= 0 && index < scalars.count { return .string(String(scalars[index])) }
                return .undefined("'str object' has no element \(i)")
            }
        default:
            break
        }
        // jinja2 falls back to attribute lookup for string keys.
        if case .string(let name) = key { return try attribute(of: value, name) }
        return .undefined("'\(value.typeName) object' has no element \(key.pythonRepr)")
    }

    /// Ints and bools index sequences (True is 1 in Python); floats do not.
    private static func integerIndex(_ key: JinjaValue) -> Int? {
        switch key {
        case .int(let i): return i
        case .bool(let b): return b ? 1 : 0
        default: return nil
        }
    }

    static func slice(_ value: JinjaValue, start: JinjaValue?, stop: JinjaValue?, step: JinjaValue?) throws -> JinjaValue {
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
            return .string(String(pythonScalars: pythonSlice(text.pythonScalars, startValue, stopValue, stepValue)))
        default:
            return .undefined("'\(value.typeName) object' is not subscriptable")
        }
    }

    /// Python's `seq[start:stop:step]` index arithmetic (slice.indices).
    static func pythonSlice<T>(_ items: [T], _ start: Int?, _ stop: Int?, _ step: Int) -> [T] {
        let n = items.count
        func clamp(_ v: Int?, _ defaultValue: Int, low: Int, high: Int) -> Int {
            guard var v else { return defaultValue }
            if v < 0 { v += n }
            return min(max(v, low), high)
        }
        var result: [T] = []
        if step > 0 {
            let s = clamp(start, 0, low: 0, high: n)
            let e = clamp(stop, n, low: 0, high: n)
            var i = s
            while i < e { result.append(items[i]); i += step }
        } else {
            let s = clamp(start, n - 1, low: -1, high: n - 1)
            let e = clamp(stop, -1, low: -1, high: n - 1)
            var i = s
            while i > e { result.append(items[i]); i += step }
        }
        return result
    }

    static func iterate(_ value: JinjaValue) throws -> [JinjaValue] {
        switch value {
        case .undefined: return []
        case .list(let items): return items
        case .string(let text): return text.unicodeScalars.map { .string(String($0)) }
        case .dict(let dict): return dict.entries.map(\.key)
        default: throw JinjaFailure("'\(value.typeName)' object is not iterable")
        }
    }
}
