import ArgumentParser
import NetcIR
import NetcSpec
import NetcZoo

struct SummaryCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "summary",
        abstract: "Print a layer table with output shapes, parameters and mult-adds, torchinfo style.",
        discussion: """
            SPEC is a file or a bundled architecture name; with none, the built-in default
            (d2l's ResNet-18). The footer reproduces torchinfo's totals line for line; the lines
            after it give conv+linear MACs as torchvision counts them, and pycls's flops and acts.
            """)

    @Argument(help: "A spec file or bundled architecture name (default: resnet18).")
    var spec: String?

    @Option(help: "Input as NxCxHxW (e.g. 1x1x96x96); default: batch 1 at the spec's declared input.")
    var input: InputShape?

    @Option(help: "Nesting depth of the table: 1 = stem, stages and head (d2l's view); 2 adds blocks; 3 adds layers.")
    var depth: Int = 3

    @Option(help: "Output format: text or json.")
    var format: OutputFormat = .text

    @Flag(help: "List the bundled architectures and exit.")
    var list = false

    func validate() throws {
        guard depth >= 1 else { throw ValidationError("--depth must be at least 1") }
    }

    func run() throws {
        if list {
            print(Zoo.names.joined(separator: "\n"))
            return
        }
        let c = SpecArgument.compile(spec, input: input?.sample)
        if !c.diagnostics.isEmpty { printError(c.renderDiagnostics()) }
        guard let graph = c.graph, c.succeeded else { throw ExitCode(1) }
        let batch = input?.batch ?? 1
        // Totals are summed in Int: refuse a batch that would overflow them rather than trap.
        let largest = [graph.cost.torchinfoMACs, graph.cost.torchinfoPassElements * 4, graph.inputShape.elementCount * 4].max() ?? 0
        guard Double(batch) * Double(largest) < 9e18 else {
            printError("error: a batch of \(batch) is too large to count for \(graph.name)\n")
            throw ExitCode(1)
        }
        let summary = Summary(graph, batch: batch, depth: depth)
        print(format == .json ? summary.renderJSON() : summary.renderText(), terminator: "")
    }
}

/// `NxCxHxW` from the command line.
struct InputShape: ExpressibleByArgument {
    var batch: Int
    var sample: Shape

    init?(argument: String) {
        let parts = argument.lowercased().split(separator: "x").compactMap { Int($0) }
        guard parts.count == 4, parts.allSatisfy({ $0 > 0 }), parts.count == argument.split(separator: "x").count else { return nil }
        batch = parts[0]
        sample = .map(parts[1], parts[2], parts[3])
    }

    static var defaultValueDescription: String { "NxCxHxW" }
}
