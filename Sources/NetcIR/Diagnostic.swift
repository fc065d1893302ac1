/// A problem found in a spec: collected as values, never thrown one at a time,
/// so a user sees every error of a file in one run.
public struct Diagnostic: Hashable, Sendable, Codable {
    public enum Severity: String, Hashable, Sendable, Codable { case error, warning, note }

    /// A secondary place that explains the main one ("this side comes from ...").
    public struct Note: Hashable, Sendable, Codable {
        public var message: String
        public var location: SourceLocation?
        public init(_ message: String, at location: SourceLocation? = nil) {
            self.message = message
            self.location = location
        }
    }

    public var severity: Severity
    public var message: String
    public var location: SourceLocation?
    /// How to fix it, where the fix is known.
    public var help: String?
    public var notes: [Note]

    public init(_ severity: Severity, _ message: String, at location: SourceLocation?,
                help: String? = nil, notes: [Note] = []) {
        self.severity = severity
        self.message = message
        self.location = location
        self.help = help
        self.notes = notes
    }

    public static func error(_ message: String, at location: SourceLocation?,
                             help: String? = nil, notes: [Note] = []) -> Diagnostic {
        Diagnostic(.error, message, at: location, help: help, notes: notes)
    }

    public static func warning(_ message: String, at location: SourceLocation?,
                               help: String? = nil, notes: [Note] = []) -> Diagnostic {
        Diagnostic(.warning, message, at: location, help: help, notes: notes)
    }
}

extension Array where Element == Diagnostic {
    public var hasErrors: Bool { contains { $0.severity == .error } }
}
