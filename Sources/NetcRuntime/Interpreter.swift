import Dispatch
import NetcIR
import NetcKernels

/// Runs a graph forward and backward on the NetcKernels kernel set.
///
/// Activations are CNHW (`[C][N][H][W]`, features `[F, N]`): the input batch is converted
/// from NCHW once at the start of `forward`, and results are converted back only when asked
/// for (`logits()`, `output()`, `inputGradient()`).
///
/// Threads: each kernel runs to completion before the next starts. Elementwise kernels split
/// their loops over the cores with `parallelFor`; GEMMs use OpenBLAS's own thread pool. The two
/// pools therefore take the cores in turn and never run at the same time, so there is no
/// oversubscription. The interpreter itself is not thread-safe: use one per thread.
///
/// Inference runs a compiled `Program` (`Program.inference`: batch norm folded into convs,
/// residual joins and ReLUs fused into the kernels before them) in an `InferencePlan`; training
/// runs the graph node by node in an `ExecutionPlan`, which keeps what backward needs. Each is
/// made on the first forward of its mode, so steady-state training allocates nothing, and
/// evaluation during training runs in the idle training arena.
public final class Interpreter {
    public let graph: Graph
    public let store: ParameterStore
    /// The largest batch the interpreter runs; smaller batches reuse the same plan.
    public let batchCapacity: Int
    /// Whether backward also produces the gradient with respect to the network input.
    public let computesInputGradient: Bool

    public private(set) var trainingPlan: ExecutionPlan?
    /// The compiled inference program and its plan, made on the first inference forward.
    public private(set) var inferencePlan: InferencePlan?
    /// The graph run node by node for inference, when a forward checks every node for NaN.
    private var literalInferencePlan: InferencePlan?
    private var folded: FoldedWeights?
    /// The training plan, while the last forward was a training one.
    var plan: ExecutionPlan?
    /// The inference plan of the last forward, when it was an inference one.
    private var lastInferencePlan: InferencePlan?
    public private(set) var currentBatch = 0
    /// Whether the last forward ran in training mode (batch statistics, backward possible).
    public private(set) var lastForwardWasTraining = false
    var outputGradientReady = false

    /// Parameter storage of each node, in the op's parameter order (looked up once here so the
    /// hot loop does no dictionary work).
    let parameters: [[UnsafeMutableBufferPointer<Float>]]
    let parameterGradients: [[UnsafeMutableBufferPointer<Float>]]

    /// Set by a forward run with `checkFinite: true`: the first node whose output (or
    /// parameter) was NaN or infinite.
    public internal(set) var firstNonFinite: NonFiniteReport?

    /// When set, forward and backward add each node's wall time (seconds) here, indexed by
    /// node id, for profiling. Nil (the default) costs nothing.
    public var profile: (forward: [Double], backward: [Double])?
    /// Draws the dropout masks of the next training forward (and its backward): set it before
    /// each step, from the run's seed and the step, so a fixed seed repeats a run and a resumed
    /// run draws the masks it would have.
    public var dropoutKey: UInt64 = 0
    /// False: dropout passes values through in training too (to compare a step with another
    /// framework, whose masks differ).
    public var dropoutEnabled = true
    /// Training with the batch split across processes and batch norm synchronised over them:
    /// adds up the processes' per-channel sums (nil: each batch norm sees this process's part).
    public var batchStatisticsSum: BatchStatisticsSum?
    /// Called after the backward of each node (in reverse order, nodes without a gradient skipped):
    /// the gradients of every parameter of that node and of the nodes after it are final, so
    /// data-parallel training can start summing them while the earlier layers run.
    public var afterBackward: ((Node.ID) -> Void)?

    /// The key of node `id`'s mask in this step.
    func dropoutMaskKey(_ id: Node.ID) -> UInt64 {
        var mixer = SplitMix64(seed: dropoutKey ^ (UInt64(id) << 32 | UInt64(id)))
        return mixer.next()
    }

    public init(graph: Graph, store: ParameterStore, batchSize: Int, inputGradient: Bool = false) {
        precondition(store.entriesOfNode.count == graph.nodes.count, "parameter store was made for another graph")
        precondition(batchSize >= 1, "batch size must be positive")
        self.graph = graph
        self.store = store
        self.batchCapacity = batchSize
        self.computesInputGradient = inputGradient
        parameters = store.entriesOfNode.map { $0.map { store.value(at: $0) } }
        parameterGradients = store.entriesOfNode.map { $0.map { store.gradient(at: $0) } }
    }

    /// The training plan, made on first use.
    public func makeTrainingPlan() -> ExecutionPlan {
        if let p = trainingPlan { return p }
        let p = ExecutionPlan(graph: graph, batchSize: batchCapacity, training: true, inputGradient: computesInputGradient)
        trainingPlan = p
        // Inference plans made before now own memory; remade, they borrow the training arena.
        inferencePlan = nil
        literalInferencePlan = nil
        return p
    }

    /// The inference plan (of the compiled program, or of the graph as written when `literal`),
    /// made on first use.
    public func makeInferencePlan(literal: Bool = false) -> InferencePlan {
        if let p = literal ? literalInferencePlan : inferencePlan { return p }
        let program = literal ? Program(graph: graph, batch: batchCapacity) : Program.inference(graph, batch: batchCapacity)
        let p = InferencePlan(program: program, batchSize: batchCapacity, memory: trainingPlan?.arena)
        if literal { literalInferencePlan = p } else { inferencePlan = p }
        return p
    }

    /// Runs `program` (any program of this graph, e.g. with a pass left out) on `input` (NCHW)
    /// in a plan of its own, and returns the output in NCHW. Allocates: for tests and tools.
    public func infer(_ input: [Float], program: Program) -> [Float] {
        precondition(program.graph == graph, "the program was compiled from another graph")
        let n = input.count / graph.inputShape.elementCount
        let plan = InferencePlan(program: program, batchSize: n)
        let fold = program.steps.contains { $0.foldedBatchNorm != nil } ? FoldedWeights(program: program) : nil
        input.withUnsafeBufferPointer { runInference(program, plan: plan, folded: fold, input: $0, n: n, checkFinite: false) }
        let s = graph.outputShape
        var out = [Float](repeating: 0, count: n * s.elementCount)
        out.withUnsafeMutableBufferPointer {
            cnhwToNchw(UnsafeBufferPointer(plan.value(graph.output, n)), $0, n: n, c: s.channels, spatial: s.height * s.width)
        }
        return out
    }

    /// The folded conv weights of the compiled inference program `program`.
    private func foldedWeights(_ program: Program) -> FoldedWeights {
        if let folded { return folded }
        let f = FoldedWeights(program: program)
        folded = f
        return f
    }

    // MARK: Forward

    /// Runs the network on a batch.
    /// - Parameters:
    ///   - input: `n` samples in NCHW order (`[N][C][H][W]`, or `[N][F]` for vector inputs).
    ///   - training: batch statistics in batch norm (and running statistics updated), and
    ///     everything backward needs is kept; otherwise running statistics are used.
    ///   - checkFinite: scan every node's output (and parameters) and record the first
    ///     non-finite one in `firstNonFinite`. Costs one extra pass over each activation.
    public func forward(_ input: UnsafeBufferPointer<Float>, batchSize n: Int, training: Bool, checkFinite: Bool = false) {
        precondition(n >= 1 && n <= batchCapacity, "batch of \(n) outside 1...\(batchCapacity)")
        let perSample = graph.inputShape.elementCount
        precondition(input.count == n * perSample, "input has \(input.count) floats, expected \(n) x \(perSample)")
        currentBatch = n
        lastForwardWasTraining = training
        outputGradientReady = false
        firstNonFinite = nil
        guard training else {
            let plan = makeInferencePlan(literal: checkFinite)
            self.plan = nil
            lastInferencePlan = plan
            runInference(plan.program, plan: plan, folded: checkFinite ? nil : foldedWeights(plan.program),
                         input: input, n: n, checkFinite: checkFinite)
            return
        }
        let plan = makeTrainingPlan()
        self.plan = plan
        lastInferencePlan = nil
        store.noteChange()   // batch statistics move the running statistics
        for node in graph.nodes where !plan.fusedAway[node.id] {
            let t0 = profile == nil ? 0 : DispatchTime.now().uptimeNanoseconds
            run(node, plan: plan, n: n, input: input)
            if profile != nil { profile!.forward[node.id] += Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9 }
            if checkFinite && firstNonFinite == nil { firstNonFinite = check(node, value: plan.value(node.id, n)) }
        }
    }

    /// Convenience: `input.count` must be a whole number of samples.
    public func forward(_ input: [Float], training: Bool, checkFinite: Bool = false) {
        let perSample = graph.inputShape.elementCount
        precondition(input.count % perSample == 0, "input is not a whole number of samples")
        input.withUnsafeBufferPointer { forward($0, batchSize: input.count / perSample, training: training, checkFinite: checkFinite) }
    }

    @inline(__always)
    private func run(_ node: Node, plan: ExecutionPlan, n: Int, input: UnsafeBufferPointer<Float>) {
        let i = node.id
        var c = ForwardContext(graph: graph, node: node, n: n, tensors: plan, output: plan.value(i, n),
                               parameters: parameters[i], training: true)
        c.networkInput = input
        prepare(&c, plan: plan, algorithm: plan.algorithms[i])
        node.op.forward(c)   // ReLU in place when the plan aliased its output to its input
    }

    /// What the training plan decided for a node, the same for its forward and its backward.
    func prepare(_ c: inout some NodeContext, plan: ExecutionPlan, algorithm: ConvAlgorithm?) {
        let node = c.node, i = node.id, needs = node.op.memoryNeeds
        c.workspace = plan.workspace
        c.relu = plan.fusedReLU[i] != nil
        c.algorithm = algorithm
        if needs.keepsWinners { c.winners = plan.indices(i, c.n) }
        if needs.keepsStatistics { c.statistics = plan.savedStats(i, channels: node.shape.channels) }
        c.statisticsSum = batchStatisticsSum
        if dropoutEnabled { c.dropoutKey = dropoutMaskKey(i) }
    }

    // MARK: Loss and results

    /// Mean softmax cross-entropy of the output logits against `labels` (one per sample), and
    /// how many samples the argmax got right. After a training forward this also seeds the
    /// output gradient for `backward()`.
    /// `batchOf`: the batch this one is a share of (data-parallel training), whose mean loss the
    /// seeded gradient is then of; the loss returned stays this share's mean.
    public func loss(labels: UnsafeBufferPointer<Int32>, batchOf total: Int? = nil) -> (loss: Double, correct: Int) {
        let n = currentBatch, out = graph.outputShape
        precondition(out.height * out.width == 1, "loss needs vector logits, the output is \(out)")
        precondition(labels.count == n, "\(labels.count) labels for a batch of \(n)")
        let seed = plan.map { lastForwardWasTraining && $0.hasGradient[graph.output] } ?? false
        let result = softmaxCrossEntropy(logits: UnsafeBufferPointer(outputValue()), labels: labels,
                                         classes: out.elementCount, n: n,
                                         dLogits: seed ? plan!.gradient(graph.output, n) : nil)
        if seed, let total, total != n {
            let d = plan!.gradient(graph.output, n), share = Float(n) / Float(total)
            for i in d.indices { d[i] *= share }
        }
        outputGradientReady = seed
        return result
    }

    public func loss(labels: [Int32]) -> (loss: Double, correct: Int) {
        labels.withUnsafeBufferPointer { loss(labels: $0) }
    }

    /// The output of the last forward in NCHW (`[N][K]` for logits). Allocates.
    public func output() -> [Float] {
        let n = currentBatch, s = graph.outputShape
        var out = [Float](repeating: 0, count: n * s.elementCount)
        out.withUnsafeMutableBufferPointer {
            cnhwToNchw(UnsafeBufferPointer(outputValue()), $0, n: n, c: s.channels, spatial: s.height * s.width)
        }
        return out
    }

    /// The network's output (CNHW) in the plan of the last forward.
    private func outputValue() -> UnsafeMutableBufferPointer<Float> {
        if let plan { return plan.value(graph.output, currentBatch) }
        guard let lastInferencePlan else { preconditionFailure("no forward has run") }
        return lastInferencePlan.value(graph.output, currentBatch)
    }

    /// The logits of the last forward, `[N][K]` row-major. Allocates.
    public func logits() -> [Float] { output() }

    /// Gradient of the loss with respect to the input batch, NCHW, after `backward()`
    /// (requires `inputGradient: true` at init). Allocates.
    public func inputGradient() -> [Float] {
        guard let plan, plan.computesInputGradient else { preconditionFailure("input gradient was not requested") }
        let n = currentBatch, s = graph.inputShape
        var out = [Float](repeating: 0, count: n * s.elementCount)
        out.withUnsafeMutableBufferPointer {
            cnhwToNchw(UnsafeBufferPointer(plan.gradient(graph.input, n)), $0, n: n, c: s.channels, spatial: s.height * s.width)
        }
        return out
    }
}
