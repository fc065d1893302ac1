import Foundation
import NetcIR
import NetcKernels

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
    /// Per node of the last timed step, in graph order.
    public var nodeTimes: [NodeTime] = []
    /// Seconds of the SGD update in the last timed step.
    public var optimizerSeconds = 0.0

    public var description: String {
        let rss = peakRSSBytes.map { String(format: "%.0f MiB", Double($0) / 1_048_576) } ?? "n/a"
        return String(format: "batch %d: %.3f s/step, %.1f images/s, plan %.0f MiB, parameters %.0f MiB, peak RSS %@",
                      batch, secondsPerStep, imagesPerSecond, Double(plannedBytes) / 1_048_576,
                      Double(parameterBytes) / 1_048_576, rss)
    }
}

/// Times full training steps (forward, loss, backward, and the update `optimizer` makes for the
/// store: plain SGD, as the PyTorch peer) of `graph` on random data: one untimed warm-up step
/// (plan allocation, BLAS thread start-up), then `steps` timed.
public func benchmarkTrainingStep(graph: Graph, batch: Int, steps: Int = 3, seed: UInt64 = 0,
                                  optimizer: (ParameterStore) -> () -> Void) -> TrainingBenchmark {
    let store = ParameterStore(graph: graph)
    store.initialize(.xavier, seed: seed, graph: graph)
    let update = optimizer(store)
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
                update()
                let t2 = DispatchTime.now().uptimeNanoseconds
                optimizerSeconds = Double(t2 - t1) / 1e9
                let t = Double(t2 - t0) / 1e9
                if s > 0 { times.append(t) }
            }
        }
    }
    let profile = interpreter.profile!
    let program = Program.training(graph, batch: batch)
    let nodeTimes = program.steps.map { NodeTime(graph, $0, forward: profile.forward[$0.node], backward: profile.backward[$0.node], batch: batch) }
    times.sort()
    let median = times[times.count / 2]
    return TrainingBenchmark(batch: batch, steps: steps, secondsPerStep: median,
                             imagesPerSecond: Double(batch) / median,
                             plannedBytes: interpreter.trainingPlan?.plannedBytes ?? 0,
                             parameterBytes: store.bytes, peakRSSBytes: peakResidentBytes(),
                             nodeTimes: nodeTimes, optimizerSeconds: optimizerSeconds)
}

/// One step of a profile: what ran, how, for how long, at what rate.
public struct NodeTime: Sendable {
    public var name: String
    public var op: String
    /// The conv algorithm, or nil.
    public var algorithm: String?
    /// Layers fused into the step, by name.
    public var fused: [String]
    public var forward: Double
    public var backward: Double
    /// Multiply-adds of the forward for the whole batch.
    public var macs: Int

    init(_ graph: Graph, _ step: Step, forward: Double, backward: Double, batch: Int) {
        name = graph.nodes[step.node].name
        op = graph.nodes[step.node].op.kindName
        algorithm = step.algorithmName
        fused = step.nodes.dropFirst().map { graph.nodes[$0].name }
        self.forward = forward
        self.backward = backward
        macs = graph.nodes[step.node].cost.macs * batch
    }

    /// GFLOP/s of the forward (2 flops a multiply-add) and of the backward (twice the forward's
    /// work: data and filter gradients), or nil for a step without multiply-adds.
    public var forwardGFLOPS: Double? { macs > 0 && forward > 0 ? 2 * Double(macs) / forward / 1e9 : nil }
    public var backwardGFLOPS: Double? { macs > 0 && backward > 0 ? 4 * Double(macs) / backward / 1e9 : nil }
}

/// What `benchmarkInference` measured.
public struct InferenceBenchmark: Sendable {
    public var batch: Int
    /// Median seconds of one forward of a batch of `batch`.
    public var secondsPerBatch: Double
    public var imagesPerSecond: Double
    /// Median seconds of one forward of a single image.
    public var latencySeconds: Double
    public var plannedBytes: Int
    public var peakRSSBytes: Int?
    /// Per step of the compiled program in the last timed batch, in order.
    public var stepTimes: [NodeTime]
}

/// Times inference forwards of the compiled program (`Program.inference`) on random data:
/// throughput at `batch` (median of `steps` after one warm-up), then batch-1 latency (median of
/// `latencyRuns` after a warm-up, in an interpreter of its own as a server would hold).
public func benchmarkInference(graph: Graph, batch: Int, steps: Int = 3, latencyRuns: Int = 20, seed: UInt64 = 0) -> InferenceBenchmark {
    let store = ParameterStore(graph: graph)
    store.initialize(.xavier, seed: seed, graph: graph)
    var rng = SplitMix64(seed: seed &+ 1)
    let input = (0..<batch * graph.inputShape.elementCount).map { _ in Float(rng.uniform(0, 1)) }
    func median(_ interpreter: Interpreter, _ x: ArraySlice<Float>, runs: Int, profileLast: Bool) -> Double {
        var times: [Double] = []
        x.withUnsafeBufferPointer { x in
            for r in 0...runs {
                if profileLast && r == runs {
                    interpreter.profile = ([Double](repeating: 0, count: graph.nodes.count), [Double](repeating: 0, count: graph.nodes.count))
                }
                let t0 = DispatchTime.now().uptimeNanoseconds
                interpreter.forward(x, batchSize: x.count / graph.inputShape.elementCount, training: false)
                if r > 0 { times.append(Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9) }
            }
        }
        return times.sorted()[times.count / 2]
    }
    let throughput = Interpreter(graph: graph, store: store, batchSize: batch)
    let seconds = median(throughput, input[...], runs: steps, profileLast: true)
    let profile = throughput.profile!
    let program = throughput.inferencePlan!.program
    let stepTimes = program.steps.map { NodeTime(graph, $0, forward: profile.forward[$0.node], backward: 0, batch: batch) }
    let single = Interpreter(graph: graph, store: store, batchSize: 1)
    let latency = median(single, input[0..<graph.inputShape.elementCount], runs: latencyRuns, profileLast: false)
    return InferenceBenchmark(batch: batch, secondsPerBatch: seconds, imagesPerSecond: Double(batch) / seconds,
                              latencySeconds: latency, plannedBytes: throughput.inferencePlan!.plannedBytes,
                              peakRSSBytes: peakResidentBytes(), stepTimes: stepTimes)
}

/// Single-precision GEMM rate of this machine through netc's BLAS, GFLOP/s: the ceiling every
/// convolution is measured against (the median of a few square products of size `n`).
public func sgemmGFLOPS(n: Int = 1024, runs: Int = 5) -> Double {
    let a = [Float](repeating: 0.5, count: n * n), b = [Float](repeating: 0.25, count: n * n)
    var c = [Float](repeating: 0, count: n * n)
    var times: [Double] = []
    for r in 0...runs {
        let t0 = DispatchTime.now().uptimeNanoseconds
        a.withUnsafeBufferPointer { a in b.withUnsafeBufferPointer { b in c.withUnsafeMutableBufferPointer { c in
            gemm(m: n, n: n, k: n, a: a.baseAddress!, lda: n, b: b.baseAddress!, ldb: n, c: c.baseAddress!, ldc: n)
        } } }
        if r > 0 { times.append(Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9) }
    }
    return 2 * Double(n * n * n) / times.sorted()[times.count / 2] / 1e9
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
