import Testing
import NetcIR
import NetcKernels
@testable import NetcRuntime

/// Finite-difference check of the whole tiny network (every block type, grouped conv, fan-out
/// at every residual join), in training mode with batch statistics.
@Test func wholeNetworkGradientsMatchFiniteDifferences() {
    let samples = lossGradientSamples(compile(tinySpec), perTensor: 6)
    let bad = mismatches(samples)
    #expect(samples.count > 100)
    #expect(bad.isEmpty, "\(bad.count) of \(samples.count) gradients disagree: \(bad.prefix(8))")
    // The check must not pass vacuously: gradients are non-trivial.
    #expect(samples.filter { abs($0.analytic) > 1e-4 }.count > samples.count / 2)
}

/// Finite-difference samples of the cross-entropy loss of a whole network (3 samples, training
/// mode with batch statistics) against the interpreter's gradients, `perTensor` per tensor.
func lossGradientSamples(_ graph: Graph, perTensor: Int) -> [GradientSample] {
    let store = ParameterStore(graph: graph)
    store.initialize(.xavier, seed: 7, graph: graph)
    let interpreter = Interpreter(graph: graph, store: store, batchSize: 3, inputGradient: true)
    var rng = SplitMix64(seed: 11)
    let input = randomFloats(3 * graph.inputShape.elementCount, &rng)
    let labels: [Int32] = [0, 2, 1]
    return gradientCheck(interpreter: interpreter, input: input, perTensor: perTensor, eps: 3e-4, seed: 3,
                         lossFunction: { x in
                             interpreter.forward(x, training: true)
                             return interpreter.loss(labels: labels).loss
                         }, backward: { x in
                             interpreter.forward(x, training: true)
                             _ = interpreter.loss(labels: labels)
                             interpreter.backward()
                         })
}

/// Builds `input -> ops...` graphs by hand: one op under test, with any extra wiring.
func singleOpGraph(input: Shape, _ build: (inout GraphBuilder, Node.ID) throws -> Node.ID) -> Graph {
    var b = GraphBuilder()
    let x = b.addInput(input, origin: nil)
    let out = try! build(&b, x)
    return b.finish(name: "op", input: x, output: out)
}

/// FD check of `L = Σ output * r` for a one-op graph, through the interpreter in training mode.
func checkSingleOp(_ graph: Graph, batch: Int = 2, eps: Float = 1e-2, rtol: Double = 2e-2,
                   sourceLocation: Testing.SourceLocation = #_sourceLocation) {
    let store = ParameterStore(graph: graph)
    store.initialize(.pytorch, seed: 5, graph: graph)
    // Non-trivial BN affine parameters, so their gradients are exercised too.
    for (i, e) in store.entries.enumerated() where e.role == .trainable {
        if graph.nodes[e.node].op is BatchNorm {
            let v = store.value(at: i)
            for j in v.indices { v[j] = Float(0.5 + 0.25 * Double(j % 4)) * (e.name.hasSuffix("bias") ? 0.3 : 1) }
        }
    }
    let interpreter = Interpreter(graph: graph, store: store, batchSize: batch, inputGradient: true)
    var rng = SplitMix64(seed: 9)
    let input = randomFloats(batch * graph.inputShape.elementCount, &rng)
    let r = randomFloats(batch * graph.outputShape.elementCount, &rng).map(Double.init)
    func objective(_ x: [Float]) -> Double {
        interpreter.forward(x, training: true)
        return zip(interpreter.output(), r).reduce(0) { $0 + Double($1.0) * $1.1 }
    }
    let samples = gradientCheck(interpreter: interpreter, input: input, perTensor: 12, eps: eps, seed: 1,
                                lossFunction: objective, backward: { input in
                                    interpreter.forward(input, training: true)
                                    interpreter.backward(outputGradient: r.map(Float.init))
                                })
    let bad = mismatches(samples, rtol: rtol)
    #expect(bad.isEmpty, "\(graph.nodes.last!.op.kindName): \(bad.count) of \(samples.count) disagree: \(bad.prefix(6))",
            sourceLocation: sourceLocation)
    #expect(samples.contains { abs($0.analytic) > 1e-3 }, "gradients are all ~0", sourceLocation: sourceLocation)
}

@Test func convGradients() {
    // Grouped, strided, padded, with bias.
    checkSingleOp(singleOpGraph(input: .map(4, 7, 7)) { b, x in
        try b.add(Conv(outChannels: 6, kernel: Window(size: 3, stride: 2, pad: 1), groups: 2, bias: true), [x],
                  name: "conv", origin: nil)
    })
    // Pointwise fast path, no bias.
    checkSingleOp(singleOpGraph(input: .map(3, 4, 4)) { b, x in
        try b.add(Conv(outChannels: 5, kernel: Window(size: 1), bias: false), [x], name: "conv", origin: nil)
    })
}

/// A grouped 3x3 conv on a map of 64 pixels or more runs the grouped direct kernels in training,
/// forward and both gradients (as ResNeXt's first stages do).
@Test func groupedDirectConvGradients() {
    let graph = singleOpGraph(input: .map(6, 9, 8)) { b, x in
        try b.add(Conv(outChannels: 4, kernel: Window(size: 3, pad: 1), groups: 2, bias: true), [x], name: "conv", origin: nil)
    }
    let plan = Program.training(graph, batch: 2).steps.last!
    #expect(plan.algorithm == .groupedDirect && plan.backwardAlgorithm == .groupedDirect)
    checkSingleOp(graph)
}

@Test func batchNormGradients() {
    checkSingleOp(singleOpGraph(input: .map(3, 3, 3)) { b, x in
        try b.add(BatchNorm(), [x], name: "bn", origin: nil)
    }, batch: 3)
}

@Test func reluGradients() {
    checkSingleOp(singleOpGraph(input: .map(2, 4, 4)) { b, x in try b.add(ReLU(), [x], name: "relu", origin: nil) }, eps: 1e-3)
}

@Test func poolingGradients() {
    checkSingleOp(singleOpGraph(input: .map(2, 6, 6)) { b, x in
        try b.add(MaxPool(pool: Window(size: 3, stride: 2, pad: 1)), [x], name: "maxpool", origin: nil)
    }, eps: 1e-3)
    checkSingleOp(singleOpGraph(input: .map(2, 6, 6)) { b, x in
        try b.add(AvgPool(pool: Window(size: 3, stride: 2, pad: 1)), [x], name: "avgpool", origin: nil)
    })
    checkSingleOp(singleOpGraph(input: .map(3, 3, 4)) { b, x in try b.add(GlobalAvgPool(), [x], name: "gap", origin: nil) })
}

@Test func flattenAndLinearGradients() {
    checkSingleOp(singleOpGraph(input: .map(2, 3, 2)) { b, x in try b.add(Flatten(), [x], name: "flatten", origin: nil) })
    checkSingleOp(singleOpGraph(input: .map(2, 3, 2)) { b, x in
        let f = try b.add(Flatten(), [x], name: "flatten", origin: nil)
        return try b.add(Linear(outFeatures: 4), [f], name: "fc", origin: nil)
    })
}

@Test func addWithFanOutGradients() {
    // x used twice by the same add: dx = 2 dy.
    checkSingleOp(singleOpGraph(input: .map(2, 3, 3)) { b, x in try b.add(Add(), [x, x], name: "add", origin: nil) })
    // The residual pattern: x feeds both a branch and the join.
    checkSingleOp(singleOpGraph(input: .map(2, 3, 3)) { b, x in
        let c = try b.add(Conv(outChannels: 2, kernel: Window(size: 3, pad: 1)), [x], name: "conv", origin: nil)
        let r = try b.add(ReLU(), [c], name: "relu", origin: nil)
        return try b.add(Add(), [r, x], name: "add", origin: nil)
    }, eps: 1e-3)
}

/// Each activation through the interpreter against finite differences (inputs in [-1, 1]: the
/// kernel test `activationsMatchTheReference` covers every piece of the piecewise ones).
@Test(arguments: Activation.allCases)
func activationGradients(_ activation: Activation) {
    checkSingleOp(singleOpGraph(input: .map(2, 4, 4)) { b, x in
        try b.add(ActivationLayer(activation), [x], name: activation.rawValue, origin: nil)
    }, eps: 1e-3)
}

/// Leaky ReLU through the interpreter (in place over its input in training) against finite differences.
@Test(arguments: [0.0, 0.1, 1.0])
func leakyReluGradients(_ slope: Double) {
    checkSingleOp(singleOpGraph(input: .map(2, 4, 4)) { b, x in
        let c = try b.add(Conv(outChannels: 2, kernel: Window(size: 3, pad: 1)), [x], name: "conv", origin: nil)
        return try b.add(LeakyReLU(slope: slope), [c], name: "leaky", origin: nil)
    }, eps: 1e-3)
}

/// Dropout in training, its mask fixed by the interpreter's key, against finite differences; in
/// evaluation it passes its input through.
@Test func dropoutGradientsAndEvaluation() {
    let graph = singleOpGraph(input: .map(2, 4, 4)) { b, x in try b.add(Dropout(p: 0.3), [x], name: "dropout", origin: nil) }
    checkSingleOp(graph, eps: 1e-3)
    let interpreter = Interpreter(graph: graph, store: ParameterStore(graph: graph), batchSize: 2)
    var rng = SplitMix64(seed: 2)
    let input = randomFloats(2 * graph.inputShape.elementCount, &rng)
    interpreter.forward(input, training: false)
    #expect(interpreter.output() == input)
    interpreter.forward(input, training: true)
    #expect(interpreter.output().filter { $0 == 0 }.count > 5, "training drops values")
}

/// The channel gate of squeeze-and-excitation: a map times a Cx1x1 scale computed from it (so x
/// fans out to both operands), in either operand order; and two equal shapes, x times itself.
@Test func mulGradients() {
    for scaleFirst in [false, true] {
        checkSingleOp(singleOpGraph(input: .map(3, 4, 5)) { b, x in
            let g = try b.add(GlobalAvgPool(), [x], name: "gap", origin: nil)
            let s = try b.add(ActivationLayer(.sigmoid), [g], name: "gate", origin: nil)
            return try b.add(Mul(), scaleFirst ? [s, x] : [x, s], name: "mul", origin: nil)
        }, eps: 1e-3)
    }
    checkSingleOp(singleOpGraph(input: .map(2, 3, 3)) { b, x in try b.add(Mul(), [x, x], name: "mul", origin: nil) }, eps: 1e-3)
}

/// Inception's join: branches of different widths stacked, one of them the input itself (fan-out).
@Test func concatGradients() {
    checkSingleOp(singleOpGraph(input: .map(2, 4, 4)) { b, x in
        let c = try b.add(Conv(outChannels: 3, kernel: Window(size: 3, pad: 1)), [x], name: "conv", origin: nil)
        let p = try b.add(MaxPool(pool: Window(size: 3, stride: 1, pad: 1)), [x], name: "pool", origin: nil)
        return try b.add(Concat(), [c, x, p, c], name: "concat", origin: nil)
    }, eps: 1e-3)
}

/// Each bundled graph-shaped block in a small network against finite differences (together, in
/// `tinyGraphBlocksSpec`, they are checked against the reference evaluator: a network that deep
/// and that small puts ReLU inputs within a finite difference's step of 0).
@Test(arguments: [
    "stages: [{block: se_bottleneck, depth: 1, channels: 8, group_width: 4}]",
    "stages: [{block: inverted_residual, depth: 2, channels: 8, expansion: 2}, {block: inverted_residual, depth: 1, channels: 6, expansion: 1, stride: 2}]",
    "stages: [{block: inception, depth: 1, channels: 9, c1: 2, c2_reduce: 2, c2: 3, c3_reduce: 1, c3: 2, c4: 2}]",
])
func graphBlockGradientsMatchFiniteDifferences(stages: String) {
    let graph = compile("""
        netc: 1
        name: graph-block
        input: {channels: 2, size: 6}
        classes: 3
        stem: [{conv: {out: 4, kernel: 3, pad: 1}}, batchnorm, relu]
        \(stages)
        head: [global_avgpool, flatten, {linear: {out: $classes}}]
        """)
    #expect(graph.nodes.contains { type(of: $0.op).isJoin })
    let samples = lossGradientSamples(graph, perTensor: 4)
    let bad = mismatches(samples)
    #expect(samples.count > 50)
    #expect(bad.isEmpty, "\(bad.count) of \(samples.count) gradients disagree: \(bad.prefix(8))")
    #expect(samples.filter { abs($0.analytic) > 1e-4 }.count > samples.count / 3)
}

/// A ResNet stem large enough for the direct kernels (7x7 stride 2 on 32x32: rows of 16 outputs),
/// then its max pool and a residual stage: the direct forward and weight gradient, and im2col's
/// input gradient behind them, against finite differences.
@Test func directStemGradientsMatchFiniteDifferences() {
    let graph = compile("""
        netc: 1
        name: direct-stem
        input: {channels: 1, size: 32}
        classes: 3
        stem:
          - conv: {out: 8, kernel: 7, stride: 2, pad: 3}
          - batchnorm
          - relu
          - maxpool: {kernel: 3, stride: 2, pad: 1}
        stages:
          - {block: residual, depth: 1, channels: 8}
        head: [global_avgpool, flatten, {linear: {out: $classes}}]
        """)
    let stem = graph.nodes.first { $0.name == "stem.conv1" }!
    guard let c = stem.op as? Conv else { Issue.record("stem.conv1 is not a conv"); return }
    let g = c.geometry(input: graph.nodes[stem.inputs[0]].shape, n: 3)
    #expect(ConvAlgorithm.choose(g, training: true) == (.direct, .direct))
    let samples = lossGradientSamples(graph, perTensor: 6)
    let bad = mismatches(samples)
    #expect(bad.isEmpty, "\(bad.count) of \(samples.count) gradients disagree: \(bad.prefix(8))")
    #expect(samples.filter { abs($0.analytic) > 1e-4 }.count > samples.count / 2)
}
