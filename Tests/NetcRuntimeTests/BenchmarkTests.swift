import Foundation
import Testing
import NetcRuntime

/// Speed measurement, not a unit test: skipped unless NETC_BENCH is set. Run in release:
///   NETC_BENCH=1 swift test -c release --filter bench
@Test(.enabled(if: ProcessInfo.processInfo.environment["NETC_BENCH"] != nil))
func benchResNet18TrainingStep() {
    let graph = architecture("resnet18")
    let steps = Int(ProcessInfo.processInfo.environment["NETC_BENCH_STEPS"] ?? "") ?? 3
    let result = benchmarkTrainingStep(graph: graph, batch: 128, steps: steps) { store in { plainSGDStep(store, learningRate: 0.01) } }
    print("resnet18 96x96 training step: \(result)")
    if ProcessInfo.processInfo.environment["NETC_BENCH_PROFILE"] != nil {
        print(profileTable(result.nodeTimes, stepSeconds: result.secondsPerStep, sgemmGFLOPS: sgemmGFLOPS()))
        print(String(format: "sgd %.1f ms", result.optimizerSeconds * 1000))
    }
    #expect(result.imagesPerSecond > 0)
}
