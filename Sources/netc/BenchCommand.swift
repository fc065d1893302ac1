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
        for (name, value) in [("batch", batch), ("steps", steps), ("size", size ?? 1)] where value < 1 {
            throw ValidationError("--\(name) must be at least 1, got \(value)")
        }
        try RecipeFlags.check("size", size.flatMap(RecipeLimits.count))
    }

    func run() throws {
        let first = try compile(SpecArgument.compile(spec))
        var graph = first
        try reportingErrors {
            if let size, size != first.inputShape.height || size != first.inputShape.width {
                let shape = Shape.map(first.inputShape.channels, size, size)
                let resized = SpecArgument.compile(spec, input: shape)
                guard let g = resized.graph, resized.succeeded else {
                    throw SpecCompilationError(resized, network: first.name, size: shape, reason: "--size \(size)")
                }
                if !resized.diagnostics.isEmpty { printError(resized.renderDiagnostics()) }   // its warnings
                graph = g
            }
            try MemoryBudget.check(graph, batch: batch, training: true)
        }
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
