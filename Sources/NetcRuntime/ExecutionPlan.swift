import NetcIR
import NetcKernels

/// Where every tensor of one run lives, decided once per (graph, batch capacity, mode) and
/// allocated up front, so a training step allocates nothing.
///
/// Tensors are the forward value of every node, the gradient of every node that needs one
/// (training), and max-pool winner indices. Each gets a lifetime on a timeline of steps —
/// forward of node `i` is step `i`, the loss is step `n`, backward of node `i` is step
/// `2n - i` — from the step that writes it to the last step that reads it. In training a
/// forward value stays alive until the backward steps that read it (conv, batch norm and
/// linear read their input, ReLU its output), so liveness and not just forward order decides
/// reuse. Tensors whose lifetimes do not overlap share an arena slot; slots are filled
/// largest tensor first (first fit), which keeps the slot count small.
///
/// The add's backward copies dy to both inputs' gradients; for one input whose gradient the
/// add writes first, that gradient shares dy's buffer instead, and the copy is skipped.
///
/// ReLU runs in place over its input when nothing else reads that input, and the input's
/// producer does not read its own output in backward: batch norm backward needs BN's input,
/// not its output, so `batchnorm -> relu` shares one buffer.
///
/// The plan also owns one conv workspace (the largest chunked im2col of any conv), shared
/// by all convs because kernels run one after another, and the saved batch statistics
/// (mean and 1/std per BN channel).
///
/// A plan built for batch `capacity` runs any batch `n <= capacity`: every tensor is laid out
/// as `[C][n][H][W]` in the first `perSample * n` floats of its slot.
public final class ExecutionPlan: TensorStorage {
    /// A tensor's place in the arena, in floats, for the full capacity.
    struct Region {
        var offset: Int
        /// Floats per sample.
        var perSample: Int
    }

    public let graph: Graph
    /// The largest batch the plan holds.
    public let capacity: Int
    /// Whether the plan keeps what backward needs (gradients, saved activations).
    public let training: Bool
    /// Whether backward also produces the gradient with respect to the network input.
    public let computesInputGradient: Bool

    let values: [Region]
    /// Gradient of each node's output, when it is needed.
    let gradients: [Region?]
    /// Max-pool winner indices (Int32 stored in the Float arena; same size).
    let indices: [Region?]
    /// Offset of each BN node's saved `[mean | invStd]` (2*C floats) in `stats`.
    let statsOffset: [Int?]
    /// Whether node `i` runs ReLU in place over its input.
    let inPlace: [Bool]
    /// Whether backward visits the node (it has a gradient).
    let hasGradient: [Bool]
    /// For an add node, which input's gradient shares the node's output-gradient buffer
    /// (its backward then has nothing to copy for that input).
    let gradientAliasedInput: [Int?]
    /// For node `i`'s backward, whether it adds into input `j`'s gradient (another consumer
    /// wrote it first) or overwrites it.
    let accumulateInto: [[Bool]]
    /// For a batch norm, the ReLU it applies itself (`ProgramPass.fuseBatchNormReLU`); that
    /// ReLU is `fusedAway`: no kernel of its own, forward or backward.
    let fusedReLU: [Node.ID?]
    let fusedAway: [Bool]
    /// Each convolution's algorithm, forward and (training) backward.
    let algorithms: [ConvAlgorithm?]
    let backwardAlgorithms: [ConvAlgorithm?]

    let arena: UnsafeMutableBufferPointer<Float>
    let workspace: UnsafeMutableBufferPointer<Float>
    let stats: UnsafeMutableBufferPointer<Float>

    /// Floats in each arena slot (slot count = reuse granularity).
    public let slotSizes: [Int]
    /// Bytes of every tensor if each had its own buffer (what reuse saves against).
    public let unsharedTensorBytes: Int
    /// Bytes actually allocated: arena + workspace + saved statistics.
    public var plannedBytes: Int { (arena.count + workspace.count + stats.count) * MemoryLayout<Float>.stride }
    public var arenaBytes: Int { arena.count * MemoryLayout<Float>.stride }
    public var workspaceBytes: Int { workspace.count * MemoryLayout<Float>.stride }

    /// Base addresses of the plan's allocations (to check that steps never reallocate).
    public var baseAddresses: [UnsafeMutableRawPointer?] {
        [UnsafeMutableRawPointer(arena.baseAddress), UnsafeMutableRawPointer(workspace.baseAddress),
         UnsafeMutableRawPointer(stats.baseAddress)]
    }

    public init(graph: Graph, batchSize capacity: Int, training: Bool, inputGradient: Bool = false) {
        precondition(capacity >= 1, "batch size must be positive")
        self.graph = graph
        self.capacity = capacity
        self.training = training
        self.computesInputGradient = training && inputGradient
        let layout = PlanLayout(graph: graph, training: training, inputGradient: inputGradient)
        hasGradient = layout.hasGradient
        accumulateInto = layout.accumulateInto
        inPlace = layout.inPlace
        statsOffset = layout.statsOffset
        gradientAliasedInput = layout.gradientAliasedInput
        fusedReLU = layout.fusedReLU
        fusedAway = layout.fusedAway
        (algorithms, backwardAlgorithms) = layout.algorithms(capacity: capacity)
        unsharedTensorBytes = layout.unsharedPerSample * capacity * MemoryLayout<Float>.stride
        slotSizes = layout.slotPerSample.indices.map { layout.slotCount($0, capacity: capacity) }
        var slotOffset = [Int](), total = 0
        for size in slotSizes { slotOffset.append(total); total += size }
        func region(_ r: PlanLayout.Region) -> Region { Region(offset: r.slot.map { slotOffset[$0] } ?? 0, perSample: r.perSample) }
        values = layout.values.map(region)
        gradients = layout.gradients.map { $0.map(region) }
        indices = layout.indices.map { $0.map(region) }
        arena = allocateLargeBuffer(max(total, 16))
        workspace = allocateLargeBuffer(max(layout.workspaceCount(capacity: capacity), 16))
        stats = .allocate(capacity: max(layout.statsCount, 16))
        // Touch everything now: page faults belong to planning, not to the first step.
        arena.initialize(repeating: 0)
        workspace.initialize(repeating: 0)
        stats.initialize(repeating: 0)
    }

    /// Bytes a plan for a batch of `capacity` would allocate (what `plannedBytes` reports once
    /// made), computed without allocating; nil if the figure overflows an Int.
    public static func bytes(graph: Graph, batchSize capacity: Int, training: Bool, inputGradient: Bool = false) -> Int? {
        PlanLayout(graph: graph, training: training, inputGradient: inputGradient).bytes(capacity: capacity)
    }

    deinit {
        deallocateLargeBuffer(arena)
        deallocateLargeBuffer(workspace)
        stats.deallocate()
    }

    /// Whether node `id` (a ReLU) writes its output over its input's buffer.
    public func runsInPlace(_ id: Node.ID) -> Bool { inPlace[id] }

    /// For an add node (training), which input's gradient is the add's own output-gradient
    /// buffer, so backward copies nothing for it; nil if neither.
    public func addGradientAlias(_ id: Node.ID) -> Int? { gradientAliasedInput[id] }

    /// Number of arena slots.
    public var slotCount: Int { slotSizes.count }

    /// The value of node `i` for a batch of `n`.
    @inline(__always) public func value(_ i: Int, _ n: Int) -> UnsafeMutableBufferPointer<Float> {
        let r = values[i]
        return UnsafeMutableBufferPointer(start: arena.baseAddress! + r.offset, count: r.perSample * n)
    }

    @inline(__always) public func gradient(_ i: Int, _ n: Int) -> UnsafeMutableBufferPointer<Float> {
        guard let r = gradients[i] else { preconditionFailure("node \(i) has no gradient in this plan") }
        return UnsafeMutableBufferPointer(start: arena.baseAddress! + r.offset, count: r.perSample * n)
    }

    public func hasGradient(_ id: Node.ID) -> Bool { hasGradient[id] }

    @inline(__always) func indices(_ i: Int, _ n: Int) -> UnsafeMutableBufferPointer<Int32> {
        guard let r = indices[i] else { preconditionFailure("node \(i) has no indices") }
        let raw = UnsafeMutableRawPointer(arena.baseAddress! + r.offset)
        return UnsafeMutableBufferPointer(start: raw.assumingMemoryBound(to: Int32.self), count: r.perSample * n)
    }

    @inline(__always) func savedStats(_ i: Int, channels: Int) -> (mean: UnsafeMutableBufferPointer<Float>, invStd: UnsafeMutableBufferPointer<Float>) {
        let o = statsOffset[i]!
        return (UnsafeMutableBufferPointer(start: stats.baseAddress! + o, count: channels),
                UnsafeMutableBufferPointer(start: stats.baseAddress! + o + channels, count: channels))
    }

    /// A readable account of the plan.
    public var summary: String {
        return "plan \(graph.name) batch \(capacity) \(training ? "train" : "eval"): "
            + "\(slotCount) slots, arena \(arenaBytes / 1_048_576) MiB (unshared \(unsharedTensorBytes / 1_048_576) MiB), "
            + "workspace \(workspaceBytes / 1_048_576) MiB"
    }
}
