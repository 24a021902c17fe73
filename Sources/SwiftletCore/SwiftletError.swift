/// The one error type the engine throws. `kind` maps one-to-one onto the C
/// API's `swiftlet_status`; `message` becomes `swiftlet_last_error()`.
public struct SwiftletError: Error, Sendable, CustomStringConvertible {
    public enum Kind: Sendable {
        case invalidArgument, io, invalidFile, unsupported, notFound, bufferTooSmall
        case contextFull, cancelled, outOfMemory, template, `internal`, busy
    }

    public let kind: Kind
    public let message: String

    public init(_ kind: Kind, _ message: String) {
        self.kind = kind
        self.message = message
    }

    public var description: String { message }

    public static func invalidArgument(_ message: String) -> SwiftletError { .init(.invalidArgument, message) }
    public static func io(_ message: String) -> SwiftletError { .init(.io, message) }
    public static func invalidFile(_ message: String) -> SwiftletError { .init(.invalidFile, message) }
    public static func unsupported(_ message: String) -> SwiftletError { .init(.unsupported, message) }
    public static func notFound(_ message: String) -> SwiftletError { .init(.notFound, message) }
    public static func template(_ message: String) -> SwiftletError { .init(.template, message) }
}
