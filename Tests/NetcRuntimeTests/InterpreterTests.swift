import Testing
import NetcIR
import NetcKernels
import NetcRuntime

/// A tiny net with a max pool and an average pool as well, so the reference comparison covers
/// every op the language has.
let tinyPoolSpec = """
netc: 1
name: tinypool
input: {channels: 2, size: 12}
classes: 4
stem: [{conv: {out: 4, kernel: 3, pad: 1}}, batchnorm, relu, {maxpool: {kernel: 3, stride: 2, pad: 1}}]
stages:
  - {block: residual, depth: 1, channels: 4}
  - {block: resnext, depth: 1, channels: 8, bot_mul: 1, groups: 2, stride: 2}
head: [{avgpool: {kernel: 2, stride: 1}}, flatten, {linear: {out: $classes}}]
"""

/// max |a - b| relative to max |b| (at least 1e-3).
func relativeError(_ a: [Float], _ b: [Double]) -> Double {
    precondition(a.count == b.count)
    let scale = max(1e-3, b.map { abs($0) }.max() ?? 0)
    return zip(a, b).map { abs(Double($0) - $1) }.max()! / scale
}

@Test(arguments: [tinySpec, tinyPoolSpec, tinyGraphBlocksSpec])
func interpreterAgreesWithReferenceEvaluation(spec: String) {
    let graph = compile(spec)
    let store = ParameterStore(graph: graph)
    store.initialize(.kaiming, seed: 21, graph: graph)
    let n = 3
    let interpreter = Interpreter(graph: graph, store: store, batchSize: n)
    var rng = SplitMix64(seed: 4)
    let input = randomFloats(n * graph.inputShape.elementCount, &rng)
    let labels: [Int32] = [1, 0, 2]
    let reference = ReferenceEvaluator(graph: graph, store: store)   // before training mutates nothing but stats

    interpreter.forward(input, training: true)
    let loss = interpreter.loss(labels: labels).loss
    interpreter.backward()

    let s = graph.inputShape
    var cnhw = input
    input.withUnsafeBufferPointer { src in cnhw.withUnsafeMutableBufferPointer { nchwToCnhw(src, $0, n: n, c: s.channels, spatial: s.height * s.width) } }
    let r = reference.run(inputCNHW: cnhw.map(Double.init), n: n, labels: labels)

    // logits() is [N, K]; the reference's are [K, N].
    let k = graph.outputShape.elementCount
    let refLogits = (0..<(n * k)).map { r.logits[($0 % k) * n + $0 / k] }
    #expect(relativeError(interpreter.logits(), refLogits) < 1e-4)
    #expect(abs(loss - r.loss) < 1e-5 * max(1, abs(r.loss)))
    var checked = 0
    for e in store.entries where e.role == .trainable {
        guard let g = r.gradients[e.name] else { Issue.record("reference has no gradient for \(e.name)"); continue }
        let err = relativeError(Array(store.gradient(e.name)), g)
        #expect(err < 1e-3, "\(e.name): relative error \(err)")
        checked += 1
    }
    #expect(checked == store.entries.filter { $0.role == .trainable }.count)
}

@Test func evalModeUsesRunningStatisticsAndTrainingUpdatesThem() {
    var b = GraphBuilder()
    let x = b.addInput(.map(2, 2, 2), origin: nil)
    let bn = try! b.add(BatchNorm(eps: 1e-5, momentum: 0.1), [x], name: "bn", origin: nil)
    let graph = b.finish(name: "bn", input: x, output: bn)
    let store = ParameterStore(graph: graph)
    store.initialize(.xavier, seed: 1, graph: graph)
    #expect(Array(store.value("bn.running_mean")) == [0, 0])
    #expect(Array(store.value("bn.running_var")) == [1, 1])
    let interpreter = Interpreter(graph: graph, store: store, batchSize: 2)
    // Two samples, NCHW; channel 0 holds 1...8, channel 1 holds 10 everywhere.
    let input: [Float] = [1, 2, 3, 4, 10, 10, 10, 10, 5, 6, 7, 8, 10, 10, 10, 10]
    interpreter.forward(input, training: true)
    // Batch mean of channel 0 is 4.5, unbiased variance 6; channel 1: mean 10, variance 0.
    let rm = Array(store.value("bn.running_mean")), rv = Array(store.value("bn.running_var"))
    #expect(abs(rm[0] - 0.45) < 1e-6 && abs(rm[1] - 1.0) < 1e-6)
    #expect(abs(rv[0] - (0.9 + 0.6)) < 1e-5 && abs(rv[1] - 0.9) < 1e-6)
    // Training output is normalised with batch statistics: channel 0 has mean 0.
    let trainOut = interpreter.output()
    let c0 = [0, 1, 2, 3, 8, 9, 10, 11].map { trainOut[$0] }
    #expect(abs(c0.reduce(0, +)) < 1e-4)
    // Eval uses the running statistics instead: (x - 0.45) / sqrt(1.5 + eps), and leaves them alone.
    interpreter.forward(input, training: false)
    let evalOut = interpreter.output()
    #expect(abs(evalOut[0] - (1 - 0.45) / (1.5 + 1e-5).squareRoot()) < 1e-5)
    #expect(abs(evalOut[4] - (10 - 1.0) / (0.9 + 1e-5).squareRoot()) < 1e-4)
    #expect(Array(store.value("bn.running_mean")) == rm)
}

@Test func planReusesMemoryAndTrainingStepsDoNotReallocate() {
    let graph = compile(tinySpec)
    let store = ParameterStore(graph: graph)
    store.initialize(.xavier, seed: 2, graph: graph)
    let interpreter = Interpreter(graph: graph, store: store, batchSize: 4)
    var rng = SplitMix64(seed: 8)
    let input = randomFloats(4 * graph.inputShape.elementCount, &rng)
    let labels: [Int32] = [0, 1, 2, 0]
    var losses: [Double] = []
    var addresses: [[UnsafeMutableRawPointer?]] = []
    var buffers: [Int: [Float]] = [:]
    for _ in 0..<3 {
        interpreter.forward(input, training: true)
        losses.append(interpreter.loss(labels: labels).loss)
        interpreter.backward()
        plainSGDStep(store, learningRate: 0.05, momentum: 0.9, buffers: &buffers)
        addresses.append(interpreter.trainingPlan!.baseAddresses)
    }
    let plan = interpreter.trainingPlan!
    #expect(addresses.allSatisfy { $0 == addresses[0] })
    #expect(plan.arenaBytes < plan.unsharedTensorBytes / 2, "\(plan.summary)")
    #expect(plan.slotCount < graph.nodes.count)
    // An eval forward runs in the idle training arena rather than growing the process.
    interpreter.forward(input, training: false)
    #expect(interpreter.inferencePlan?.ownsMemory == false && interpreter.trainingPlan === plan)
    // Training on one batch drives its loss down.
    #expect(losses[2] < losses[0])
    // A smaller batch runs in the same plan.
    interpreter.forward(Array(input.prefix(2 * graph.inputShape.elementCount)), training: true)
    #expect(interpreter.logits().count == 2 * 3)
    #expect(interpreter.trainingPlan!.baseAddresses == addresses[0])
}

@Test func inPlaceReluAfterBatchNormIsPlanned() {
    let graph = compile(tinySpec)
    let plan = ExecutionPlan(graph: graph, batchSize: 2, training: true)
    // Every relu straight after a batch norm can share the BN output's buffer.
    let bnRelu = graph.nodes.filter { node in
        guard node.op is ReLU, graph.nodes[node.inputs[0]].op is BatchNorm else { return false }
        return true
    }
    #expect(!bnRelu.isEmpty)
    #expect(bnRelu.allSatisfy { plan.runsInPlace($0.id) })
}

@Test func addBackwardPassesGradientWithoutCopy() {
    let graph = compile(tinySpec)
    let plan = ExecutionPlan(graph: graph, batchSize: 2, training: true)
    let adds = graph.nodes.filter { $0.op is Add }
    #expect(!adds.isEmpty)
    // Every residual join hands dy to one of its inputs by sharing the buffer.
    #expect(adds.allSatisfy { plan.addGradientAlias($0.id) != nil })
    #expect(ExecutionPlan(graph: graph, batchSize: 2, training: false).addGradientAlias(adds[0].id) == nil)
}

@Test func nonFiniteOutputsAreLocated() {
    let graph = compile(tinySpec)
    let store = ParameterStore(graph: graph)
    store.initialize(.xavier, seed: 3, graph: graph)
    let interpreter = Interpreter(graph: graph, store: store, batchSize: 2)
    var rng = SplitMix64(seed: 1)
    var input = randomFloats(2 * graph.inputShape.elementCount, &rng)
    interpreter.forward(input, training: true, checkFinite: true)
    #expect(interpreter.firstNonFinite == nil)
    store.value("stages.1.0.conv2.weight")[3] = .nan
    let report = input.withUnsafeBufferPointer { interpreter.locateNonFinite(input: $0, batchSize: 2, training: false) }
    #expect(report?.parameter == "stages.1.0.conv2.weight")
    store.value("stages.1.0.conv2.weight")[3] = 0
    input[5] = .infinity
    let fromInput = input.withUnsafeBufferPointer { interpreter.locateNonFinite(input: $0, batchSize: 2, training: false) }
    #expect(fromInput?.nodeName == "input" && fromInput?.parameter == nil)
}

/// An epoch's last batch is smaller than the plan's: forward, loss, gradients, batch-norm running
/// statistics and the SGD step on it must be those of a plan made for exactly that batch. Up to
/// rounding, not to the bit: a plan's convolution algorithms depend on its batch (Winograd's
/// filter transform pays over many images, not over three), and stale values of the images past
/// the batch would show far above it.
@Test(arguments: [tinySpec, tinyPoolSpec, tinyGraphBlocksSpec])
func aPartialBatchEqualsABatchOfItsOwnSize(spec: String) {
    let graph = compile(spec)
    let n = 3
    var rng = SplitMix64(seed: 9)
    let input = randomFloats(n * graph.inputShape.elementCount, &rng)
    let labels: [Int32] = [2, 0, 1]
    func step(capacity: Int) -> (loss: Double, store: ParameterStore) {
        let store = ParameterStore(graph: graph)
        store.initialize(.kaiming, seed: 5, graph: graph)
        let interpreter = Interpreter(graph: graph, store: store, batchSize: capacity)
        // A full batch first, so stale values of images n..<capacity sit in every buffer.
        if capacity > n {
            interpreter.forward(randomFloats(capacity * graph.inputShape.elementCount, &rng), training: true)
            _ = interpreter.loss(labels: [Int32](repeating: 1, count: capacity))
            interpreter.backward()
            store.initialize(.kaiming, seed: 5, graph: graph)
        }
        interpreter.forward(input, training: true)
        let loss = interpreter.loss(labels: labels).loss
        interpreter.backward()
        plainSGDStep(store, learningRate: 0.1)
        return (loss, store)
    }
    let exact = step(capacity: n), partial = step(capacity: 8)
    #expect(abs(partial.loss - exact.loss) <= 1e-6 * abs(exact.loss))
    let a = partial.store.snapshot(), b = exact.store.snapshot()
    for (name, values) in b {
        let scale = max(1e-3, values.map { abs($0) }.max() ?? 0)
        let worst = zip(a[name]!, values).map { abs($0 - $1) }.max() ?? 0
        #expect(worst <= 1e-5 * scale, "\(name) after the step: \(worst)")
    }
}
