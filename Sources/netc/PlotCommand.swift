import ArgumentParser
import NetcTrain

struct PlotCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "plot",
        abstract: "Draw training runs' curves (train loss and accuracy at each logged step, test accuracy per epoch) in one SVG.",
        discussion: """
            Each RUN_DIR is a netc train run directory; its metrics.jsonl gives the points. One \
            run is drawn in the d2l book's colours; several get a colour each, the metric told by \
            the line's dash. Runs in progress or interrupted are drawn as far as they went.
            """)

    @Argument(help: "Run directories to draw.") var runs: [String]
    @Option(name: .shortAndLong, help: "Where to write the plot (.svg).") var output: String
    @Option(help: "Title above the plot.") var title: String?

    func validate() throws {
        guard !runs.isEmpty else { throw ValidationError("give at least one run directory") }
        guard output.lowercased().hasSuffix(".svg") else { throw ValidationError("-o '\(output)' is not an .svg file") }
    }

    func run() throws {
        try reportingErrors {
            let curves = try runs.map { try RunCurves(runDirectory: $0) }
            try BinaryFile.writeAtomically(output, bytes: Array(RunCurves.svg(curves, title: title).utf8))
            print("\(curves.count) run(s) drawn to \(output)")
        }
    }
}
