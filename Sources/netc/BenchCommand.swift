import ArgumentParser
import Foundation
import NetcIR
import NetcRuntime
import NetcSpec
import NetcTrain

struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Time training steps (forward, backward, SGD) on random data; print JSON.",
        discussion: """
            The same measurement as the PyTorch peer's `train-bench` (scripts/bench.sh runs both):
            one warm-up step, then the median of --steps timed steps at the spec's input size.
            """)

    @Argument(help: "A spec file or bundled architecture name (default: resnet18).")
    var spec: String?

    @Option(parsing: .unconditional, help: "Batch size.") var batch: Int = 128
    @Option(parsing: .unconditional, help: "Timed steps.") var steps: Int = 5
    @Option(parsing: .unconditional, help: "Input size (default: the spec's).") var size: Int?
    @Flag(help: "Also print the ten slowest nodes of the last step.") var profile = false

    func validate() throws {
        try RecipeFlags.check("batch", RecipeLimits.count(batch))
        try RecipeFlags.check("steps", RecipeLimits.count(steps))
        try RecipeFlags.check("size", size.flatMap(RecipeLimits.boundedCount))
    }

    func run() throws {
        try reportingErrors {
            let size = size.map { InputSizeRequest.square($0, from: "--size \($0)", flag: "--size") }
            let (compilation, graph) = try compileResized(SpecArgument.compile(spec), to: size) { SpecArgument.compile(spec, input: $0) }
            printWarnings(compilation)
            try MemoryBudget.check(graph, batch: batch, training: true, advice: .flags(batch: "--batch", resize: "--size"))
            measure(graph)
        }
    }

    func measure(_ graph: Graph) {
        let b = benchmarkTrainingStep(graph: graph, batch: batch, steps: steps)
        if profile {
            for n in b.nodeTimes.prefix(10) {
                printError(String(format: "%-28@ %-12@ forward %6.1f ms  backward %6.1f ms\n", n.name, n.op, n.forward * 1e3, n.backward * 1e3))
            }
        }
        let fields: [(String, String)] = [
            ("arch", "\"\(graph.name)\""), ("batch", "\(batch)"), ("size", "\(graph.inputShape.height)"),
            ("threads", "\(ProcessInfo.processInfo.activeProcessorCount)"),
            ("train_step_s", String(format: "%.4f", b.secondsPerStep)),
            ("train_img_per_s", String(format: "%.2f", b.imagesPerSecond)),
            ("plan_mib", String(format: "%.1f", Double(b.plannedBytes) / 1_048_576)),
            ("peak_rss_mib", b.peakRSSBytes.map { String(format: "%.1f", Double($0) / 1_048_576) } ?? "null"),
        ]
        print("{" + fields.map { "\"\($0.0)\": \($0.1)" }.joined(separator: ", ") + "}")
    }
}
