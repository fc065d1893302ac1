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
/// Memory: every buffer comes from an `ExecutionPlan` made on the first forward of each mode
/// (training plans also serve evaluation forwards), so steady-state training allocates nothing.
public final class Interpreter {
    public let graph: Graph
    public let store: ParameterStore
    /// The largest batch the interpreter runs; smaller batches reuse the same plan.
    public let batchCapacity: Int
    /// Whether backward also produces the gradient with respect to the network input.
    public let computesInputGradient: Bool

    public private(set) var trainingPlan: ExecutionPlan?
    public private(set) var inferencePlan: ExecutionPlan?
    /// The plan and batch size of the last forward.
    var plan: ExecutionPlan?
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

    /// The plan a forward in this mode uses, made on first use.
    public func plan(training: Bool) -> ExecutionPlan {
        if let p = trainingPlan { return p }
        if training {
            let p = ExecutionPlan(graph: graph, batchSize: batchCapacity, training: true, inputGradient: computesInputGradient)
            trainingPlan = p
            inferencePlan = nil   // the training plan serves evaluation too; free the smaller one
            return p
        }
        if let p = inferencePlan { return p }
        let p = ExecutionPlan(graph: graph, batchSize: batchCapacity, training: false)
        inferencePlan = p
        return p
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
        let plan = plan(training: training)
        self.plan = plan
        currentBatch = n
        lastForwardWasTraining = training
        outputGradientReady = false
        firstNonFinite = nil
        for node in graph.nodes {
            let t0 = profile == nil ? 0 : DispatchTime.now().uptimeNanoseconds
            run(node, plan: plan, n: n, input: input, training: training)
            if profile != nil { profile!.forward[node.id] += Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9 }
            if checkFinite && firstNonFinite == nil { firstNonFinite = check(node, plan: plan, n: n) }
        }
    }

    /// Convenience: `input.count` must be a whole number of samples.
    public func forward(_ input: [Float], training: Bool, checkFinite: Bool = false) {
        let perSample = graph.inputShape.elementCount
        precondition(input.count % perSample == 0, "input is not a whole number of samples")
        input.withUnsafeBufferPointer { forward($0, batchSize: input.count / perSample, training: training, checkFinite: checkFinite) }
    }

    @inline(__always)
    private func run(_ node: Node, plan: ExecutionPlan, n: Int, input: UnsafeBufferPointer<Float>, training: Bool) {
        let i = node.id
        let y = plan.value(i, n)
        func x(_ k: Int = 0) -> UnsafeBufferPointer<Float> { UnsafeBufferPointer(plan.value(node.inputs[k], n)) }
        func inShape(_ k: Int = 0) -> Shape { graph.nodes[node.inputs[k]].shape }
        let p = parameters[i]
        switch node.op {
        case .input:
            let s = node.shape
            nchwToCnhw(input, y, n: n, c: s.channels, spatial: s.height * s.width)
        case .conv(let c):
            let g = convGeometry(c, input: inShape(), n: n)
            convForward(g, x: x(), weight: UnsafeBufferPointer(p[0]), bias: c.bias ? UnsafeBufferPointer(p[1]) : nil,
                        y: y, workspace: plan.workspace)
        case .batchNorm(let b):
            let s = node.shape, m = n * s.height * s.width
            if training {
                let (mean, invStd) = plan.savedStats(i, channels: s.channels)
                batchNormForwardTraining(x: x(), y: y, channels: s.channels, perChannel: m,
                                         gamma: UnsafeBufferPointer(p[0]), beta: UnsafeBufferPointer(p[1]),
                                         epsilon: Float(b.eps), momentum: Float(b.momentum),
                                         runningMean: p[2], runningVar: p[3], saveMean: mean, saveInvStd: invStd)
            } else {
                batchNormForwardInference(x: x(), y: y, channels: s.channels, perChannel: m,
                                          gamma: UnsafeBufferPointer(p[0]), beta: UnsafeBufferPointer(p[1]),
                                          runningMean: UnsafeBufferPointer(p[2]), runningVar: UnsafeBufferPointer(p[3]),
                                          epsilon: Float(b.eps))
            }
        case .relu:
            reluForward(x: x(), y: y)   // in place when the plan aliased y to x
        case .maxPool(let pool):
            maxPoolForward(poolGeometry(pool, input: inShape(), n: n), x: x(), y: y, indices: plan.indices(i, n))
        case .avgPool(let pool):
            avgPoolForward(poolGeometry(pool, input: inShape(), n: n), x: x(), y: y)
        case .globalAvgPool:
            let s = inShape()
            globalAvgPoolForward(x: x(), y: y, planes: s.channels * n, spatial: s.height * s.width)
        case .flatten:
            let s = inShape()
            flattenForward(x: x(), y: y, channels: s.channels, n: n, spatial: s.height * s.width)
        case .linear(let l):
            linearForward(x: x(), weight: UnsafeBufferPointer(p[0]), bias: l.bias ? UnsafeBufferPointer(p[1]) : nil,
                          y: y, inFeatures: inShape().elementCount, outFeatures: l.outFeatures, n: n)
        case .add:
            add(x(0), x(1), into: y)
        }
    }

    // MARK: Loss and results

    /// Mean softmax cross-entropy of the output logits against `labels` (one per sample), and
    /// how many samples the argmax got right. After a training forward this also seeds the
    /// output gradient for `backward()`.
    public func loss(labels: UnsafeBufferPointer<Int32>) -> (loss: Double, correct: Int) {
        guard let plan else { preconditionFailure("loss before forward") }
        let n = currentBatch, out = graph.outputShape
        precondition(out.height * out.width == 1, "loss needs vector logits, the output is \(out)")
        precondition(labels.count == n, "\(labels.count) labels for a batch of \(n)")
        let seed = lastForwardWasTraining && plan.hasGradient[graph.output]
        let result = softmaxCrossEntropy(logits: UnsafeBufferPointer(plan.value(graph.output, n)), labels: labels,
                                         classes: out.elementCount, n: n,
                                         dLogits: seed ? plan.gradient(graph.output, n) : nil)
        outputGradientReady = seed
        return result
    }

    public func loss(labels: [Int32]) -> (loss: Double, correct: Int) {
        labels.withUnsafeBufferPointer { loss(labels: $0) }
    }

    /// The output of the last forward in NCHW (`[N][K]` for logits). Allocates.
    public func output() -> [Float] {
        guard let plan else { preconditionFailure("output before forward") }
        let n = currentBatch, s = graph.outputShape
        var out = [Float](repeating: 0, count: n * s.elementCount)
        out.withUnsafeMutableBufferPointer {
            cnhwToNchw(UnsafeBufferPointer(plan.value(graph.output, n)), $0, n: n, c: s.channels, spatial: s.height * s.width)
        }
        return out
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

    // MARK: Optimizer

    /// One SGD step (torch.optim.SGD semantics) on every trainable parameter.
    public func sgdStep(learningRate: Float, momentum: Float = 0, weightDecay: Float = 0) {
        store.sgdStep(learningRate: learningRate, momentum: momentum, weightDecay: weightDecay)
    }

    /// forward (training) + loss + backward + SGD step.
    @discardableResult
    public func trainStep(input: UnsafeBufferPointer<Float>, labels: UnsafeBufferPointer<Int32>,
                          learningRate: Float, momentum: Float = 0, weightDecay: Float = 0) -> (loss: Double, correct: Int) {
        forward(input, batchSize: labels.count, training: true)
        let result = loss(labels: labels)
        backward()
        sgdStep(learningRate: learningRate, momentum: momentum, weightDecay: weightDecay)
        return result
    }
}
