/// Why an op cannot take the shapes it was given. The spec layer turns it into a
/// diagnostic that points at the YAML node the op came from.
public struct ShapeError: Error, Hashable, Sendable {
    public var message: String
    public var help: String?
    public init(_ message: String, help: String? = nil) {
        self.message = message
        self.help = help
    }
}
