import ArgumentParser
import Foundation
import NetcIR
import NetcSpec
import NetcTrain

struct GraphCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "graph",
        abstract: "Draw a network with Graphviz: blocks as clusters, each edge labelled with its tensor's shape.",
        discussion: """
            The output's extension picks the format: .dot writes Graphviz's text (no Graphviz \
            needed), .svg, .png and .pdf run Graphviz's dot program (Debian's graphviz). Shortcut \
            paths (the inputs a join takes from outside its own block) are dashed. --depth draws the modules \
            at that depth as one box each, as netc summary shows them as one row: 1 draws stem, \
            stages and head; 2 draws each block as a box.
            """)

    @Argument(help: "A spec file or bundled architecture name (default: resnet18).")
    var spec: String?

    @Option(name: .shortAndLong, help: "Where to write the drawing: .svg, .png, .pdf or .dot.")
    var output: String

    @Option(parsing: .unconditional, help: "Draw the modules at this depth as one box each (default: draw every layer).")
    var depth: Int?

    @Option(parsing: .unconditional, help: "Input size (default: the spec's).")
    var size: Int?

    static let formats = ["svg", "png", "pdf", "dot"]

    func validate() throws {
        if let depth, depth < 1 { throw ValidationError("--depth must be at least 1, got \(depth)") }
        try RecipeFlags.check("size", size.flatMap(RecipeLimits.boundedCount))
        let ext = (output as NSString).pathExtension.lowercased()
        guard Self.formats.contains(ext) else {
            throw ValidationError("-o '\(output)' has no drawing format's extension: use .svg, .png, .pdf or .dot")
        }
    }

    func run() throws {
        try reportingErrors {
            let graph = try SpecArgument.graph(spec, size: size)
            let text = graph.dot(depth: depth)
            let format = (output as NSString).pathExtension.lowercased()
            let bytes = format == "dot" ? Array(text.utf8) : try Self.render(text, format: format)
            try BinaryFile.writeAtomically(output, bytes: bytes)
            print("\(graph.name) drawn to \(output)")
        }
    }

    /// Runs Graphviz's `dot` on the drawing and returns the rendered file's bytes.
    static func render(_ dot: String, format: String) throws -> [UInt8] {
        guard let program = ["/usr/bin/dot", "/usr/local/bin/dot"].first(where: FileManager.default.isExecutableFile) else {
            throw CommandError("Graphviz's 'dot' program is not installed, and it draws .\(format) files",
                               help: "install it (Debian: apt-get install graphviz; `make` does), or write a .dot file and render it elsewhere")
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: program)
        process.arguments = ["-T\(format)"]
        let input = Pipe(), output = Pipe(), errors = Pipe()
        (process.standardInput, process.standardOutput, process.standardError) = (input, output, errors)
        try process.run()
        // Read while writing: a large drawing fills the pipes both ways.
        final class Collected: @unchecked Sendable { var data = Data() }   // written by one reader, read after `wait`
        let (rendered, messages) = (Collected(), Collected())
        let readers = DispatchGroup()
        DispatchQueue.global().async(group: readers) { rendered.data = output.fileHandleForReading.readDataToEndOfFile() }
        DispatchQueue.global().async(group: readers) { messages.data = errors.fileHandleForReading.readDataToEndOfFile() }
        input.fileHandleForWriting.write(Data(dot.utf8))
        try input.fileHandleForWriting.close()
        process.waitUntilExit()
        readers.wait()
        guard process.terminationStatus == 0, !rendered.data.isEmpty else {
            throw CommandError("Graphviz's dot failed (exit \(process.terminationStatus)): \(String(decoding: messages.data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines))",
                               help: "write a .dot file to see the drawing netc made")
        }
        return Array(rendered.data)
    }
}
