import NetcKernels

/// Where a run keeps its tensors: the value of every node for a batch of `n` (CNHW), and in
/// training the gradient of every node that has one.
public protocol TensorStorage: AnyObject {
    func value(_ id: Node.ID, _ n: Int) -> UnsafeMutableBufferPointer<Float>
    func gradient(_ id: Node.ID, _ n: Int) -> UnsafeMutableBufferPointer<Float>
    func hasGradient(_ id: Node.ID) -> Bool
}

/// What an op's forward reads and writes for one batch, and what the compiled step decided for it.
public struct ForwardContext {
    public let graph: Graph
    public let node: Node
    /// The batch size.
    public let n: Int
    let tensors: any TensorStorage
    /// The node's output buffer (in place over an input where the plan says so).
    public let output: UnsafeMutableBufferPointer<Float>
    /// The node's parameters, in `parameters(input:)` order (a folded conv's are its folded weight and bias).
    public var parameters: [UnsafeMutableBufferPointer<Float>]
    /// Training: batch statistics, dropout, and whatever backward needs is kept.
    public let training: Bool
    /// The network's input batch in NCHW, read by the input node.
    public var networkInput: UnsafeBufferPointer<Float>?
    /// Scratch memory shared by every kernel of the run.
    public var workspace = UnsafeMutableBufferPointer<Float>(start: nil, count: 0)
    /// A ReLU after this node that its kernel applies (the ReLU runs no kernel of its own).
    public var relu = false
    /// A conv's output already holds the residual it adds (`fuse-residual-add`): accumulate onto it.
    public var accumulate = false
    /// How a conv is computed, and its weights prepared for that algorithm (inference).
    public var algorithm: ConvAlgorithm?
    public var prepared: UnsafePointer<Float>?
    /// Where a max pool keeps its winners for backward (training only).
    public var winners: UnsafeMutableBufferPointer<Int32>?
    /// Where a batch norm keeps the batch's mean and 1/std for backward (training only).
    public var statistics: (mean: UnsafeMutableBufferPointer<Float>, invStd: UnsafeMutableBufferPointer<Float>)?
    /// Adds up batch statistics across processes (data-parallel training with synchronised batch norm).
    public var statisticsSum: BatchStatisticsSum?
    /// The key of this node's dropout mask in this step; nil passes values through (comparisons
    /// with another framework, whose masks differ).
    public var dropoutKey: UInt64?

    public init(graph: Graph, node: Node, n: Int, tensors: any TensorStorage, output: UnsafeMutableBufferPointer<Float>,
                parameters: [UnsafeMutableBufferPointer<Float>], training: Bool) {
        self.graph = graph
        self.node = node
        self.n = n
        self.tensors = tensors
        self.output = output
        self.parameters = parameters
        self.training = training
    }

    /// The value of input `k`.
    public func input(_ k: Int = 0) -> UnsafeBufferPointer<Float> { UnsafeBufferPointer(tensors.value(node.inputs[k], n)) }
    public func inputShape(_ k: Int = 0) -> Shape { graph.nodes[node.inputs[k]].shape }
    public func parameter(_ k: Int) -> UnsafeBufferPointer<Float> { UnsafeBufferPointer(parameters[k]) }
}

/// What an op's backward reads and writes: the gradient of its output, and the gradients of its
/// parameters (overwritten) and of its inputs (overwritten, or added to where `accumulate` says).
public struct BackwardContext {
    public let graph: Graph
    public let node: Node
    public let n: Int
    let tensors: any TensorStorage
    /// The gradient of the node's output (of its fused ReLU's output, when it applies one).
    public let dy: UnsafeBufferPointer<Float>
    /// Per input: whether its gradient already holds a later consumer's part, to be added to.
    public let accumulate: [Bool]
    public let parameters: [UnsafeMutableBufferPointer<Float>]
    public let parameterGradients: [UnsafeMutableBufferPointer<Float>]
    public var workspace = UnsafeMutableBufferPointer<Float>(start: nil, count: 0)
    /// As in `ForwardContext`: the fused ReLU, the conv's algorithm, the max pool's winners, the
    /// batch norm's statistics and their sum across processes, the dropout mask's key.
    public var relu = false
    public var algorithm: ConvAlgorithm?
    public var winners: UnsafeMutableBufferPointer<Int32>?
    public var statistics: (mean: UnsafeMutableBufferPointer<Float>, invStd: UnsafeMutableBufferPointer<Float>)?
    public var statisticsSum: BatchStatisticsSum?
    public var dropoutKey: UInt64?
    /// An input whose gradient the plan made the same buffer as `dy` (an add's): already written.
    public var gradientIsOutputGradient: Int?

    public init(graph: Graph, node: Node, n: Int, tensors: any TensorStorage, dy: UnsafeBufferPointer<Float>, accumulate: [Bool],
                parameters: [UnsafeMutableBufferPointer<Float>], parameterGradients: [UnsafeMutableBufferPointer<Float>]) {
        self.graph = graph
        self.node = node
        self.n = n
        self.tensors = tensors
        self.dy = dy
        self.accumulate = accumulate
        self.parameters = parameters
        self.parameterGradients = parameterGradients
    }

    public func input(_ k: Int = 0) -> UnsafeBufferPointer<Float> { UnsafeBufferPointer(tensors.value(node.inputs[k], n)) }
    public func inputShape(_ k: Int = 0) -> Shape { graph.nodes[node.inputs[k]].shape }
    /// The node's own forward value.
    public var output: UnsafeBufferPointer<Float> { UnsafeBufferPointer(tensors.value(node.id, n)) }
    /// Whether input `k` wants a gradient.
    public func wants(_ k: Int = 0) -> Bool { tensors.hasGradient(node.inputs[k]) }
    /// The gradient of input `k`.
    public func inputGradient(_ k: Int = 0) -> UnsafeMutableBufferPointer<Float> { tensors.gradient(node.inputs[k], n) }
    public func parameter(_ k: Int) -> UnsafeBufferPointer<Float> { UnsafeBufferPointer(parameters[k]) }
}

/// What the memory planner must know of an op's kernels.
public struct MemoryNeeds: Sendable {
    /// Its backward reads its inputs' values (which then live until it runs).
    public var backwardReadsInputs = false
    /// Its backward reads its own output value.
    public var backwardReadsOutput = false
    /// Its training forward keeps one winner index per output value for backward (max pool).
    public var keepsWinners = false
    /// Its training forward keeps each channel's batch mean and 1/std for backward (batch norm).
    public var keepsStatistics = false
    /// Its backward writes its input's gradient whether or not anything upstream learns (batch norm).
    public var alwaysWritesInputGradient = false
    /// In training, it may write its output over its input when nothing else reads that input
    /// (its backward reads neither).
    public var trainsInPlace = false

    public init(backwardReadsInputs: Bool = false, backwardReadsOutput: Bool = false, keepsWinners: Bool = false,
                keepsStatistics: Bool = false, alwaysWritesInputGradient: Bool = false, trainsInPlace: Bool = false) {
        self.backwardReadsInputs = backwardReadsInputs
        self.backwardReadsOutput = backwardReadsOutput
        self.keepsWinners = keepsWinners
        self.keepsStatistics = keepsStatistics
        self.alwaysWritesInputGradient = alwaysWritesInputGradient
        self.trainsInPlace = trainsInPlace
    }
}
