import ArgumentParser
import NetcIR
import NetcSpec

struct DiffCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "diff",
        abstract: "Compare two networks: per stage and in total, parameters, mult-adds and activations, and the first shape that differs.",
        discussion: """
            Each spec is a file or a bundled architecture name, compiled at its declared input \
            (or at --size for both). Figures are per sample, as netc summary counts them: \
            torchinfo's params and mult-adds, pycls's acts; a stage only one network has counts \
            as zeros on the other side.
            """)

    @Argument(help: "The network to compare from.") var a: String
    @Argument(help: "The network to compare to.") var b: String
    @Option(parsing: .unconditional, help: "Input size for both (default: each spec's own).") var size: Int?
    @Option(help: "Output format: text or json.") var format: OutputFormat = .text

    func validate() throws {
        try RecipeFlags.check("size", size.flatMap(RecipeLimits.boundedCount))
    }

    func run() throws {
        try reportingErrors {
            var diff = GraphDiff(try SpecArgument.graph(a, size: size), try SpecArgument.graph(b, size: size))
            if diff.a == diff.b { (diff.a, diff.b) = (a, b) }   // two networks of one name: say which is which
            print(format == .json ? diff.renderJSON() : diff.renderText(), terminator: "")
        }
    }
}
