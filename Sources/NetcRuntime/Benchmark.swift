import Foundation
import NetcIR

/// What `benchmarkTrainingStep` measured.
public struct TrainingBenchmark: Sendable, CustomStringConvertible {
    public var batch: Int
    public var steps: Int
    /// Median seconds of one forward + loss + backward + SGD step.
    public var secondsPerStep: Double
    public var imagesPerSecond: Double
    /// Bytes of the training plan (arena + workspace + statistics).
    public var plannedBytes: Int
    /// Bytes of parameters, gradients and momentum.
    public var parameterBytes: Int
    /// Peak resident set size of the process so far (VmHWM), if readable.
    public var peakRSSBytes: Int?
    /// Per node of the last timed step, slowest first: name, op, forward and backward seconds.
    public var nodeTimes: [(name: String, op: String, forward: Double, backward: Double)] = []
    /// Seconds of the SGD update in the last timed step.
    public var optimizerSeconds = 0.0

    public var description: String {
        let rss = peakRSSBytes.map { String(format: "%.0f MiB", Double($0) / 1_048_576) } ?? "n/a"
        return String(format: "batch %d: %.3f s/step, %.1f images/s, plan %.0f MiB, parameters %.0f MiB, peak RSS %@",
                      batch, secondsPerStep, imagesPerSecond, Double(plannedBytes) / 1_048_576,
                      Double(parameterBytes) / 1_048_576, rss)
    }
}

/// Times full training steps (forward, loss, backward, plain SGD as the PyTorch peer) of `graph` on random
/// data: one untimed warm-up step (plan allocation, BLAS thread start-up), then `steps` timed.
public func benchmarkTrainingStep(graph: Graph, batch: Int, steps: Int = 3, seed: UInt64 = 0) -> TrainingBenchmark {
    let store = ParameterStore(graph: graph)
    store.initialize(.xavier, seed: seed, graph: graph)
    let interpreter = Interpreter(graph: graph, store: store, batchSize: batch)
    var rng = SplitMix64(seed: seed &+ 1)
    let input = (0..<batch * graph.inputShape.elementCount).map { _ in Float(rng.uniform(0, 1)) }
    let classes = graph.outputShape.elementCount
    let labels = (0..<batch).map { _ in Int32(truncatingIfNeeded: rng.next() % UInt64(classes)) }
    var times: [Double] = [], optimizerSeconds = 0.0
    input.withUnsafeBufferPointer { x in
        labels.withUnsafeBufferPointer { y in
            for s in 0...steps {
                let t0 = DispatchTime.now().uptimeNanoseconds
                if s == steps { interpreter.profile = ([Double](repeating: 0, count: graph.nodes.count),
                                                        [Double](repeating: 0, count: graph.nodes.count)) }
                interpreter.forward(x, batchSize: batch, training: true)
                _ = interpreter.loss(labels: y)
                interpreter.backward()
                let t1 = DispatchTime.now().uptimeNanoseconds
                interpreter.sgdStep(learningRate: 0.01)
                let t2 = DispatchTime.now().uptimeNanoseconds
                optimizerSeconds = Double(t2 - t1) / 1e9
                let t = Double(t2 - t0) / 1e9
                if s > 0 { times.append(t) }
            }
        }
    }
    let profile = interpreter.profile!
    let nodeTimes = graph.nodes.map { (name: $0.name, op: $0.op.kindName, forward: profile.forward[$0.id], backward: profile.backward[$0.id]) }
        .sorted { $0.forward + $0.backward > $1.forward + $1.backward }
    times.sort()
    let median = times[times.count / 2]
    return TrainingBenchmark(batch: batch, steps: steps, secondsPerStep: median,
                             imagesPerSecond: Double(batch) / median,
                             plannedBytes: interpreter.trainingPlan?.plannedBytes ?? 0,
                             parameterBytes: store.bytes, peakRSSBytes: peakResidentBytes(),
                             nodeTimes: nodeTimes, optimizerSeconds: optimizerSeconds)
}

/// The process's peak resident set size from `/proc/self/status` (VmHWM), Linux only.
public func peakResidentBytes() -> Int? {
    guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return nil }
    for line in status.split(separator: "\n") where line.hasPrefix("VmHWM:") {
        let kb = line.split(separator: " ").compactMap { Int($0) }.first
        return kb.map { $0 * 1024 }
    }
    return nil
}
