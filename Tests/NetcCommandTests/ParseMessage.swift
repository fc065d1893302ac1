import ArgumentParser

/// What the command line prints when `arguments` do not parse for `command`; "" when they do.
func message<C: ParsableCommand>(_ command: C.Type, _ arguments: [String]) -> String {
    do {
        _ = try command.parse(arguments)
        return ""
    } catch {
        return command.message(for: error)
    }
}
