/// A command's failure outside a spec or a run (a missing tool, a file it cannot write), with
/// what to do about it.
struct CommandError: Error, CustomStringConvertible {
    var message: String
    var help: String?
    init(_ message: String, help: String? = nil) {
        self.message = message
        self.help = help
    }
    var description: String { help.map { "\(message)\nhelp: \($0)" } ?? message }
}
