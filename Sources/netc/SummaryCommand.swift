import ArgumentParser
import NetcIR
import NetcSpec
import NetcZoo

struct SummaryCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "summary",
        abstract: "Print a layer table with output shapes, parameters and mult-adds, torchinfo style.",
        discussion: """
            SPEC is a file or a bundled architecture name; with none, the built-in default \
            (d2l's ResNet-18). The footer reproduces torchinfo's totals line for line; the lines \
            after it give conv+linear MACs as torchvision counts them, and pycls's flops and acts.
            """)

    @Argument(help: "A spec file or bundled architecture name (default: resnet18).")
    var spec: String?

    @Option(help: ArgumentHelp("Input as NxCxHxW (e.g. 1x1x96x96); default: batch 1 at the spec's declared input.",
                               valueName: "NxCxHxW"),
            transform: { try InputShape.parse($0) })
    var input: InputShape?

    @Option(parsing: .unconditional, help: "Nesting depth of the table: 1 = stem, stages and head (d2l's view); 2 adds blocks; 3 adds layers.")
    var depth: Int = 3

    @Option(help: "Output format: text or json.")
    var format: OutputFormat = .text

    @Flag(help: "List the bundled architectures and exit.")
    var list = false

    func validate() throws {
        try RecipeFlags.check("depth", RecipeLimits.count(depth))
        if list, let spec { throw ValidationError("--list names the bundled architectures and takes no spec, got '\(spec)'") }
    }

    func run() throws {
        if list {
            print(Zoo.names.joined(separator: "\n"))
            return
        }
        try reportingErrors {
            let graph = try compile(SpecArgument.compile(spec, input: input?.sample))
            let batch = input?.batch ?? 1
            // Totals are summed in Int: refuse a batch that would overflow them rather than trap.
            let cost = graph.cost
            let largest = [cost.torchinfoMACs, cost.pyclsFlops, cost.pyclsActivations, cost.torchinfoPassElements * 4,
                           graph.inputShape.elementCount * 4].max() ?? 0
            guard Double(batch) * Double(largest) < 9e18 else {
                let most = Int((9e18 / Double(largest)).rounded(.up)) - 1
                let help = most >= 1 ? "use a batch of at most \(most) (N in --input NxCxHxW)" : "use smaller images (H and W in --input NxCxHxW)"
                printError("error: a batch of \(batch) is too large to count for \(graph.name)\nhelp: \(help)\n")
                throw ExitCode(1)
            }
            let summary = Summary(graph, batch: batch, depth: depth)
            print(format == .json ? summary.renderJSON() : summary.renderText(), terminator: "")
        }
    }
}

/// `NxCxHxW` from the command line.
struct InputShape {
    var batch: Int
    var sample: Shape

    static let names = ["N (batch)", "C (channels)", "H (height)", "W (width)"]

    /// Parses `1x1x96x96`; a refusal names the dimension that is wrong and what is accepted.
    static func parse(_ argument: String) throws -> InputShape {
        let parts = argument.lowercased().split(separator: "x", omittingEmptySubsequences: false)
        guard parts.count == 4 else {
            throw ValidationError("it has \(parts.count) dimension\(parts.count == 1 ? "" : "s"); --input takes four, NxCxHxW, e.g. 1x1x96x96")
        }
        var dims: [Int] = []
        for (name, part) in zip(names, parts) {
            guard let d = Int(part), d > 0, d <= maxDimension else {
                throw ValidationError("\(name) is '\(part)'; each dimension must be a whole number from 1 to \(maxDimension), e.g. 1x1x96x96")
            }
            dims.append(d)
        }
        return InputShape(batch: dims[0], sample: .map(dims[1], dims[2], dims[3]))
    }

    /// The spec language's own limit on sizes and counts.
    static let maxDimension = Compiler.maxValue
}
