/// Renders diagnostics the way rustc and swiftc do:
///
///     resnet.yaml:7:22: error: 'depth' must be an integer, got 2.5
///         7 |   - {block: residual, depth: 2.5, channels: 64}
///           |                              ^~~
///     help: write a whole number of blocks, e.g. 'depth: 2'
public struct DiagnosticRenderer: Sendable {
    /// Source text by file name, for quoting the offending line.
    public var sources: [String: String]

    public init(sources: [String: String] = [:]) {
        self.sources = sources
    }

    public func render(_ diagnostics: [Diagnostic]) -> String {
        diagnostics.map(render).joined()
    }

    public func render(_ d: Diagnostic) -> String {
        var out = ""
        out += header(d.severity.rawValue, d.message, d.location)
        out += excerpt(d.location)
        for note in d.notes {
            out += header("note", note.message, note.location)
            out += excerpt(note.location)
        }
        if let help = d.help { out += "help: \(help)\n" }
        return out
    }

    private func header(_ label: String, _ message: String, _ at: SourceLocation?) -> String {
        if let at { return "\(at): \(label): \(message)\n" }
        return "\(label): \(message)\n"
    }

    private func excerpt(_ at: SourceLocation?) -> String {
        guard let at, let text = sources[at.file], let raw = Self.line(at.line, of: text) else { return "" }
        // Control bytes (from a binary file) would garble the terminal; show them as '?'.
        var line = String(raw.map { $0 == "\t" || !($0.asciiValue.map { $0 < 0x20 || $0 == 0x7F } ?? false) ? $0 : "?" })
        var column = at.column
        var end = line.count
        // A very long line (a generated or fuzzed file) is quoted as a window around the caret.
        if line.count > Self.maxLineWidth {
            let start = max(0, min(column - 1 - Self.maxLineWidth / 3, line.count - Self.maxLineWidth))
            let before = start > 0 ? "…" : "", after = start + Self.maxLineWidth < line.count ? "…" : ""
            line = before + line.dropFirst(start).prefix(Self.maxLineWidth) + after
            column += before.count - start
            end = line.count - after.count
        }
        let number = String(at.line)
        let gutter = String(repeating: " ", count: number.count)
        // Tabs keep their width under the caret; anything else becomes a space.
        let pad = String(line.prefix(max(0, column - 1)).map { $0 == "\t" ? "\t" : " " })
        let available = max(1, end - (column - 1))
        let marks = "^" + String(repeating: "~", count: max(0, min(at.length, available) - 1))
        return "  \(number) | \(line)\n  \(gutter) | \(pad)\(marks)\n"
    }

    /// Longest source line quoted whole.
    static let maxLineWidth = 120

    static func line(_ n: Int, of text: String) -> String? {
        var current = 1
        var start = text.startIndex
        while current < n {
            guard let nl = text[start...].firstIndex(of: "\n") else { return nil }
            start = text.index(after: nl)
            current += 1
        }
        let end = text[start...].firstIndex(where: { $0 == "\n" || $0 == "\r" }) ?? text.endIndex
        return String(text[start..<end])
    }
}
