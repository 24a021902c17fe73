/// One turn of a conversation, as chat templates see it: `message['role']`,
/// `message['content']`.
public struct ChatMessage: Sendable, Equatable {
    public var role: String
    public var content: String

    public init(role: String, content: String) {
        self.role = role
        self.content = content
    }
}
