import NetcKernels

/// Where a run keeps its tensors: the value of every node for a batch of `n` (CNHW), and in
/// training the gradient of every node that has one.
public protocol TensorStorage: AnyObject {
    func value(_ id: Node.ID, _ n: Int) -> UnsafeMutableBufferPointer<Float>
    func gradient(_ id: Node.ID, _ n: Int) -> UnsafeMutableBufferPointer<Float>
    func hasGradient(_ id: Node.ID) -> Bool
}

/// What an op's kernels see of the run, forward and backward: the node, its inputs and parameters,
/// and what the compiled step decided for it.
public protocol NodeContext {
    var graph: Graph { get }
    var node: Node { get }
    /// The batch size.
    var n: Int { get }
    var tensors: any TensorStorage { get }
    /// The node's parameters, in `parameters(input:)` order.
    var parameters: [UnsafeMutableBufferPointer<Float>] { get }
    /// Scratch memory shared by every kernel of the run.
    var workspace: UnsafeMutableBufferPointer<Float> { get set }
    /// A ReLU after this node that its kernels apply (the ReLU runs none of its own).
    var relu: Bool { get set }
    /// How a conv is computed.
    var algorithm: ConvAlgorithm? { get set }
    /// Where a max pool keeps its winners for backward (training only).
    var winners: UnsafeMutableBufferPointer<Int32>? { get set }
    /// Where a batch norm keeps the batch's mean and 1/std for backward (training only).
    var statistics: (mean: UnsafeMutableBufferPointer<Float>, invStd: UnsafeMutableBufferPointer<Float>)? { get set }
    /// Adds up batch statistics across processes (data-parallel training with synchronised batch norm).
    var statisticsSum: BatchStatisticsSum? { get set }
    /// The key of this node's dropout mask in this step; nil passes values through (comparisons
    /// with another framework, whose masks differ).
    var dropoutKey: UInt64? { get set }
}

extension NodeContext {
    /// The value of input `k`.
    public func input(_ k: Int = 0) -> UnsafeBufferPointer<Float> { UnsafeBufferPointer(tensors.value(node.inputs[k], n)) }
    public func inputShape(_ k: Int = 0) -> Shape { graph.nodes[node.inputs[k]].shape }
    public func parameter(_ k: Int) -> UnsafeBufferPointer<Float> { UnsafeBufferPointer(parameters[k]) }
}

/// What an op's forward reads and writes for one batch.
public struct ForwardContext: NodeContext {
    public let graph: Graph
    public let node: Node
    public let n: Int
    public let tensors: any TensorStorage
    /// The node's output buffer (in place over an input where the plan says so).
    public let output: UnsafeMutableBufferPointer<Float>
    /// A folded conv's parameters are its folded weight and bias.
    public var parameters: [UnsafeMutableBufferPointer<Float>]
    /// Training: batch statistics, dropout, and whatever backward needs is kept.
    public let training: Bool
    /// The network's input batch in NCHW, read by the input node.
    public var networkInput: UnsafeBufferPointer<Float>?
    /// A conv's output already holds the residual it adds (`fuse-residual-add`): accumulate onto it.
    public var accumulate = false
    /// A conv's weights prepared for its algorithm (inference).
    public var prepared: UnsafePointer<Float>?
    public var workspace = UnsafeMutableBufferPointer<Float>(start: nil, count: 0)
    public var relu = false
    public var algorithm: ConvAlgorithm?
    public var winners: UnsafeMutableBufferPointer<Int32>?
    public var statistics: (mean: UnsafeMutableBufferPointer<Float>, invStd: UnsafeMutableBufferPointer<Float>)?
    public var statisticsSum: BatchStatisticsSum?
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
}

/// What an op's backward reads and writes: the gradient of its output, and the gradients of its
/// parameters (overwritten) and of its inputs (overwritten, or added to where `accumulate` says).
public struct BackwardContext: NodeContext {
    public let graph: Graph
    public let node: Node
    public let n: Int
    public let tensors: any TensorStorage
    /// The gradient of the node's output (of its fused ReLU's output, when it applies one).
    public let dy: UnsafeBufferPointer<Float>
    /// Per input: whether its gradient already holds a later consumer's part, to be added to.
    public let accumulate: [Bool]
    public let parameters: [UnsafeMutableBufferPointer<Float>]
    public let parameterGradients: [UnsafeMutableBufferPointer<Float>]
    /// An input whose gradient the plan made the same buffer as `dy` (an add's): already written.
    public var gradientIsOutputGradient: Int?
    public var workspace = UnsafeMutableBufferPointer<Float>(start: nil, count: 0)
    public var relu = false
    public var algorithm: ConvAlgorithm?
    public var winners: UnsafeMutableBufferPointer<Int32>?
    public var statistics: (mean: UnsafeMutableBufferPointer<Float>, invStd: UnsafeMutableBufferPointer<Float>)?
    public var statisticsSum: BatchStatisticsSum?
    public var dropoutKey: UInt64?

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

    /// The node's own forward value.
    public var output: UnsafeBufferPointer<Float> { UnsafeBufferPointer(tensors.value(node.id, n)) }
    /// Whether input `k` wants a gradient.
    public func wants(_ k: Int = 0) -> Bool { tensors.hasGradient(node.inputs[k]) }
    /// The gradient of input `k`.
    public func inputGradient(_ k: Int = 0) -> UnsafeMutableBufferPointer<Float> { tensors.gradient(node.inputs[k], n) }
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
