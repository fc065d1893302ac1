import Foundation
import Testing
import NetcIR
import NetcKernels
@testable import NetcRuntime

/// The compiled inference program: each pass, alone and together, gives the outputs of the graph
/// run as written; what it fused is what it should have; the plan reuses memory and refolds
/// when weights change.
@Suite struct ProgramTests {
    /// A store with random weights and batch norms that are far from the identity (random scale,
    /// shift and running statistics), so a wrong fold cannot hide.
    static func randomStore(_ graph: Graph, seed: UInt64 = 7) -> ParameterStore {
        let store = ParameterStore(graph: graph)
        store.initialize(.kaiming, seed: seed, graph: graph)
        var rng = SplitMix64(seed: seed &+ 1)
        for e in store.entries where e.name.hasSuffix("running_var") || e.name.hasSuffix("running_mean")
            || (graph.nodes[e.node].op.kindName == "BatchNorm2d") {
            let v = store.value(e.name)
            let (lo, hi) = e.name.hasSuffix("running_var") ? (0.5, 2.0) : e.name.hasSuffix("weight") ? (0.5, 1.5) : (-0.3, 0.3)
            for i in v.indices { v[i] = Float(rng.uniform(lo, hi)) }
        }
        return store
    }

    static let graphs: [(String, Graph)] = [("tiny", compile(tinySpec)), ("tinypool", compile(tinyPoolSpec)),
                                            ("graph-blocks", compile(tinyGraphBlocksSpec))]
        + ["resnet18", "resnext", "preact-resnet18", "resnet50"].map { ($0, architecture($0)) }

    /// max |a - b| over max |b|.
    static func relative(_ a: [Float], _ b: [Float]) -> Double {
        let scale = max(1e-6, Double(b.map { abs($0) }.max()!))
        return Double(zip(a, b).map { abs($0 - $1) }.max()!) / scale
    }

    @Test(arguments: 0..<graphs.count)
    func everyPassKeepsTheOutputs(_ index: Int) {
        let (name, graph) = Self.graphs[index]
        let store = Self.randomStore(graph)
        let interpreter = Interpreter(graph: graph, store: store, batchSize: 2)
        var rng = SplitMix64(seed: 3)
        let input = randomFloats(2 * graph.inputShape.elementCount, &rng)
        let literal = interpreter.infer(input, program: Program(graph: graph))
        // Float rounding only: folding rounds w * s once per weight, the fused epilogue adds in
        // another order; both are a few ulps of each output, far below 1e-5.
        for pass in ProgramPass.inference {
            let alone = interpreter.infer(input, program: Program(graph: graph).applying(pass))
            #expect(Self.relative(alone, literal) < 1e-5, "\(name): \(pass.name)")
        }
        interpreter.forward(input, training: false)
        #expect(Self.relative(interpreter.output(), literal) < 1e-5, "\(name): every pass")
    }

    /// Every algorithm can be forced on every convolution it applies to, and gives the graph's
    /// outputs (F(4x4) within its larger error: see `winogradTolerance`).
    @Test(arguments: ConvAlgorithm.allCases)
    func everyAlgorithmCanBeForced(_ algorithm: ConvAlgorithm) {
        var forced = 0
        for spec in [tinyPoolSpec, tinyGraphBlocksSpec] {   // the second has depthwise convolutions
            let graph = compile(spec)
            let store = Self.randomStore(graph)
            let interpreter = Interpreter(graph: graph, store: store, batchSize: 3)
            var rng = SplitMix64(seed: 11)
            let input = randomFloats(3 * graph.inputShape.elementCount, &rng)
            var program = Program.inference(graph)
            for k in program.steps.indices {
                guard let c = graph.nodes[program.steps[k].node].op as? Conv,
                      algorithm.applies(to: c.geometry(input: graph.nodes[graph.nodes[program.steps[k].node].inputs[0]].shape, n: 1))
                else { continue }
                program.steps[k].algorithm = algorithm
                forced += 1
            }
            let tolerance = algorithm == .winograd4x4 ? 1e-4 : 1e-5
            #expect(Self.relative(interpreter.infer(input, program: program), interpreter.infer(input, program: Program(graph: graph))) < tolerance)
        }
        #expect(forced > 0 || algorithm == .liveTaps, "\(algorithm) forced nowhere")
    }

    /// ResNet-18's basic block becomes two steps: conv1 with bn1 and its ReLU, conv2 with bn2,
    /// the residual join and the block's ReLU; a projection shortcut is a conv with its bn.
    @Test func resnet18FusesEachBlockIntoItsConvs() {
        let graph = architecture("resnet18")
        let program = Program.inference(graph)
        #expect(program.passes == ["fold-batchnorm", "fuse-residual-add", "fuse-relu"])
        let names = { (ids: [Node.ID]) in ids.map { graph.nodes[$0].name } }
        let steps = program.steps.map { names($0.nodes) }
        #expect(steps.contains(["stages.0.0.conv1", "stages.0.0.bn1", "stages.0.0.relu1"]))
        #expect(steps.contains(["stages.0.0.conv2", "stages.0.0.bn2", "stages.0.0.add", "stages.0.0.relu2"]))
        #expect(graph.nodes.filter { $0.op.kindName == "BatchNorm2d" }.allSatisfy { bn in
            program.steps.contains { $0.foldedBatchNorm == bn.id } })
        #expect(program.steps.count < graph.nodes.count / 2, "\(program.steps.count) steps for \(graph.nodes.count) nodes")
    }

    /// Only step outputs take memory, the residual join accumulates onto the shortcut in place,
    /// and the plan is no larger than the graph's as written, and smaller than the training plan
    /// evaluation once ran in.
    @Test func theInferencePlanKeepsOnlyStepOutputsAndAccumulatesInPlace() {
        let graph = architecture("resnet18")
        let program = Program.inference(graph)
        let compiled = InferencePlan.bytes(program: program, batchSize: 8)!
        #expect(compiled <= InferencePlan.bytes(program: Program(graph: graph), batchSize: 8)!)
        #expect(compiled < ExecutionPlan.bytes(graph: graph, batchSize: 8, training: false)!)
        let plan = InferencePlan(program: program, batchSize: 2)
        #expect(graph.nodes.filter { plan.hasBuffer($0.id) }.count == program.steps.count)
        let identityBlock = program.steps.indices.first { graph.nodes[program.steps[$0].node].name == "stages.0.0.conv2" }!
        #expect(plan.accumulatesInPlace(identityBlock))
        #expect(!plan.hasBuffer(graph.nodes.first { $0.name == "stages.0.0.bn1" }!.id))
    }

    /// Folded weights follow the store: a changed batch norm changes the next forward.
    @Test func foldedWeightsAreRecomputedWhenTheStoreChanges() {
        let graph = compile(tinySpec)
        let store = Self.randomStore(graph)
        let interpreter = Interpreter(graph: graph, store: store, batchSize: 2)
        var rng = SplitMix64(seed: 5)
        let input = randomFloats(2 * graph.inputShape.elementCount, &rng)
        interpreter.forward(input, training: false)
        let before = interpreter.output()
        let gamma = store.value("stem.bn1.weight")
        for i in gamma.indices { gamma[i] *= 3 }
        interpreter.forward(input, training: false)
        let literal = interpreter.infer(input, program: Program(graph: graph))
        #expect(Self.relative(interpreter.output(), literal) < 1e-5)
        #expect(Self.relative(before, literal) > 1e-3)
        // A training step moves weights and running statistics: evaluation follows.
        interpreter.forward(input, training: true)
        _ = interpreter.loss(labels: [0, 1])
        interpreter.backward()
        plainSGDStep(store, learningRate: 0.1)
        interpreter.forward(input, training: false)
        #expect(Self.relative(interpreter.output(), interpreter.infer(input, program: Program(graph: graph))) < 1e-5)
    }

    /// A residual whose tensor is read again later (or is the conv's own input) is copied, not
    /// overwritten: add(conv(x), x) where x also feeds another layer.
    @Test func aResidualStillNeededIsNotOverwritten() {
        let spec = """
            netc: 1
            name: reuse
            input: {channels: 2, size: 6}
            classes: 3
            blocks:
              twice:
                body: [{conv: {out: 2, kernel: 3, pad: 1}}, batchnorm]
                shortcut: {}
            stem: [{conv: {out: 2, kernel: 3, pad: 1}}]
            stages:
              - {block: twice, depth: 2, channels: 2}
            head: [global_avgpool, flatten, {linear: {out: $classes}}]
            """
        let graph = compile(spec)
        let store = Self.randomStore(graph)
        let interpreter = Interpreter(graph: graph, store: store, batchSize: 3)
        var rng = SplitMix64(seed: 9)
        let input = randomFloats(3 * graph.inputShape.elementCount, &rng)
        interpreter.forward(input, training: false)
        #expect(Self.relative(interpreter.output(), interpreter.infer(input, program: Program(graph: graph))) < 1e-5)
    }
    /// Training fuses every ReLU that follows a batch norm into it (and no other), and the
    /// batch norm then keeps no output gradient of its own.
    @Test func trainingFusesEachBatchNormWithItsReLU() {
        let graph = architecture("preact-resnet18")
        let plan = ExecutionPlan(graph: graph, batchSize: 2, training: true)
        for node in graph.nodes {
            guard node.op is ReLU else { continue }
            let afterBatchNorm = graph.nodes[node.inputs[0]].op.kindName == "BatchNorm2d"
            #expect(plan.fusedAway[node.id] == afterBatchNorm, "\(node.name)")
            if afterBatchNorm { #expect(plan.gradients[node.inputs[0]] == nil) }
        }
        #expect(Program.training(graph).passes == ["fuse-batchnorm-relu"])
    }

    /// Training's forward, whose outputs decide the ReLU masks, is never Winograd; its gradients
    /// take Winograd where the cost model does for inference (which may instead multiply packed
    /// weights, a forward of its own, on small products). The tiny net at batch 3 takes it too, so
    /// `interpreterAgreesWithReferenceEvaluation` checks those gradients against float64.
    @Test(arguments: [("resnet18", 128), ("tiny", 3)])
    func trainingTakesWinogradInItsBackwardOnly(name: String, batch: Int) {
        let graph = name == "tiny" ? compile(tinySpec) : architecture(name)
        let training = Program(graph: graph, batch: batch, training: true), inference = Program(graph: graph, batch: batch)
        let plan = ExecutionPlan(graph: graph, batchSize: batch, training: true)
        var winogradBackwards = 0
        for (step, inferred) in zip(training.steps, inference.steps) where step.algorithm != nil {
            #expect(step.algorithm != .winograd && step.algorithm != .winograd4x4, "\(graph.nodes[step.node].name)")
            let node = graph.nodes[step.node]
            let g = (node.op as! Conv).geometry(input: graph.nodes[node.inputs[0]].shape, n: batch)
            #expect(step.backwardAlgorithm == inferred.algorithm || inferred.algorithm!.multipliesPackedWeights(g))
            #expect(plan.algorithms[step.node] == step.algorithm && plan.backwardAlgorithms[step.node] == step.backwardAlgorithm)
            if step.backwardAlgorithm != step.algorithm { winogradBackwards += 1 }
        }
        #expect(winogradBackwards > 0)
    }

    /// `netc compile --infer --explain`: every step, what was fused into it, where it writes. (At
    /// batch 2 on 8x8 maps every 3x3 is a small product, which prepacked weights take from Winograd,
    /// and on the last stage's 2x2 maps from the whole-map product.)
    @Test func explainShowsWhatEachNodeBecame() {
        let graph = compile(tinySpec)
        let program = Program.inference(graph, batch: 2)
        #expect(program.explain(plan: InferencePlan(program: program, batchSize: 2)) == """
            tiny: 18 steps for 44 nodes; passes: fold-batchnorm, fuse-residual-add, fuse-relu
            step  runs              op                 algorithm    fused into it                                               output
               0  input             Input              -            -                                                           slot 1
               1  stem.conv1        Conv2d             im2col gemm  bn1 (folded into weights), relu1                            slot 0
               2  stages.0.0.conv1  Conv2d             im2col gemm  bn1 (folded into weights), relu1                            slot 1
               3  stages.0.0.conv2  Conv2d             im2col gemm  bn2 (folded into weights), add (+ stem.relu1), relu2        slot 0, onto its residual
               4  stages.1.0.conv1  Conv2d             gemm 1x1     bn1 (folded into weights), relu1                            slot 1
               5  stages.1.0.conv2  Conv2d             im2col gemm  bn2 (folded into weights), relu2                            slot 2
               6  stages.1.0.conv3  Conv2d             gemm 1x1     bn3 (folded into weights)                                   slot 1
               7  stages.1.0.conv4  Conv2d             im2col gemm  bn4 (folded into weights), add (+ bn3), relu3               slot 1, onto its residual
               8  stages.2.0.conv1  Conv2d             gemm 1x1     bn1 (folded into weights), relu1                            slot 0
               9  stages.2.0.conv2  Conv2d             im2col gemm  bn2 (folded into weights), relu2                            slot 2
              10  stages.2.0.conv3  Conv2d             gemm 1x1     bn3 (folded into weights), add (+ stages.1.0.relu3), relu3  slot 1, onto its residual
              11  stages.3.0.bn1    BatchNorm2d        -            relu1                                                       slot 1
              12  stages.3.0.conv1  Conv2d             im2col gemm  bn2 (folded into weights), relu2                            slot 0
              13  stages.3.0.conv2  Conv2d             im2col gemm  -                                                           slot 2
              14  stages.3.0.conv3  Conv2d             im2col gemm  add (+ conv2)                                               slot 2, onto its residual
              15  head.avgpool1     AdaptiveAvgPool2d  -            -                                                           slot 0
              16  head.flatten1     Flatten            -            -                                                           slot 1
              17  head.fc1          Linear             -            -                                                           slot 0
            memory at batch 2: 23.0 KiB in 3 slots and a conv workspace

            """)
    }
}
