import ArgumentParser
import Foundation
import NetcIR
import NetcRuntime
import NetcSpec
import NetcTrain

struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Time training steps (forward, backward, SGD) or inference on random data; print JSON.",
        discussion: """
            The same measurements as the PyTorch peer's `train-bench` and `infer-bench` (scripts/bench.sh \
            runs them side by side): one warm-up, then the median of --steps timed steps at the \
            spec's input size. --infer times the compiled inference program at --batch and the \
            latency of one image. --profile prints every layer's time and GFLOP/s on stderr.
            """)

    @Argument(help: "A spec file or bundled architecture name (default: resnet18).")
    var spec: String?

    @Option(parsing: .unconditional, help: "Batch size.") var batch: Int = 128
    @Option(parsing: .unconditional, help: "Timed steps.") var steps: Int = 5
    @Option(parsing: .unconditional, help: "Input size (default: the spec's).") var size: Int?
    @Flag(help: "Time inference (throughput at --batch, latency at batch 1) instead of training.") var infer = false
    @Flag(help: "Also print every layer of the last step: algorithm, ms, GFLOP/s, share.") var profile = false

    func validate() throws {
        try RecipeFlags.check("batch", RecipeLimits.count(batch))
        try RecipeFlags.check("steps", RecipeLimits.count(steps))
        try RecipeFlags.check("size", size.flatMap(RecipeLimits.boundedCount))
    }

    func run() throws {
        try reportingErrors {
            let graph = try SpecArgument.graph(spec, size: size)
            try MemoryBudget.check(graph, batch: batch, training: !infer, advice: .flags(batch: "--batch", resize: "--size"))
            infer ? measureInference(graph) : measureTraining(graph)
        }
    }

    func measureTraining(_ graph: Graph) {
        let b = benchmarkTrainingStep(graph: graph, batch: batch, steps: steps) { store in
            let sgd = SGD(store)
            return { sgd.step(learningRate: 0.01) }
        }
        if profile { printError(profileTable(b.nodeTimes, stepSeconds: b.secondsPerStep, sgemmGFLOPS: sgemmGFLOPS())) }
        printJSON(graph, [("train_step_s", String(format: "%.4f", b.secondsPerStep)),
                          ("train_img_per_s", String(format: "%.2f", b.imagesPerSecond)),
                          ("plan_mib", String(format: "%.1f", Double(b.plannedBytes) / 1_048_576))])
    }

    func measureInference(_ graph: Graph) {
        let b = benchmarkInference(graph: graph, batch: batch, steps: steps)
        if profile { printError(profileTable(b.stepTimes, stepSeconds: b.secondsPerBatch, sgemmGFLOPS: sgemmGFLOPS())) }
        printJSON(graph, [("infer_batch_s", String(format: "%.4f", b.secondsPerBatch)),
                          ("infer_img_per_s", String(format: "%.2f", b.imagesPerSecond)),
                          ("latency_ms", String(format: "%.2f", b.latencySeconds * 1e3)),
                          ("plan_mib", String(format: "%.1f", Double(b.plannedBytes) / 1_048_576))])
    }

    /// One JSON object: the run's identity, `fields`, and the process's peak RSS.
    func printJSON(_ graph: Graph, _ fields: [(String, String)]) {
        let all = [("arch", "\"\(graph.name)\""), ("batch", "\(batch)"), ("size", "\(graph.inputShape.height)"),
                   ("threads", "\(ProcessInfo.processInfo.activeProcessorCount)")] + fields
            + [("peak_rss_mib", peakResidentBytes().map { String(format: "%.1f", Double($0) / 1_048_576) } ?? "null")]
        print("{" + all.map { "\"\($0.0)\": \($0.1)" }.joined(separator: ", ") + "}")
    }
}
