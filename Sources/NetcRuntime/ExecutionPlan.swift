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
public final class ExecutionPlan {
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
        let nodes = graph.nodes, n = nodes.count

        var consumers = [[Node.ID]](repeating: [], count: n)
        for node in nodes { for x in node.inputs where !consumers[x].contains(node.id) { consumers[x].append(node.id) } }

        // Which nodes feed the output (others never receive a gradient).
        var reaches = [Bool](repeating: false, count: n)
        reaches[graph.output] = true
        for node in nodes.reversed() where reaches[node.id] { for x in node.inputs { reaches[x] = true } }

        // A node needs a gradient if a trainable parameter or the (wanted) input gradient is
        // at or upstream of it, and it feeds the output.
        var hasGrad = [Bool](repeating: false, count: n)
        if training {
            for node in nodes {
                let own = node.parameters.contains { $0.role == .trainable }
                    || (node.id == graph.input && inputGradient)
                hasGrad[node.id] = reaches[node.id] && (own || node.inputs.contains { hasGrad[$0] })
            }
            // Batch-norm backward always writes dx, so its input needs a gradient buffer
            // even where nothing upstream learns (e.g. BN straight after the input).
            for node in nodes where hasGrad[node.id] {
                if case .batchNorm = node.op { hasGrad[node.inputs[0]] = true }
            }
        }
        self.hasGradient = hasGrad

        // Gradient accumulation order: backward visits nodes in reverse, so the first writer
        // of a gradient overwrites and later ones accumulate (fan-out, e.g. the residual skip).
        var written = Set<Node.ID>()
        if training { written.insert(graph.output) }   // the loss seeds the output gradient
        var accumulateInto = [[Bool]](repeating: [], count: n)
        for node in nodes.reversed() {
            accumulateInto[node.id] = node.inputs.map { x in
                guard hasGrad[node.id], hasGrad[x] else { return false }
                return !written.insert(x).inserted
            }
        }
        self.accumulateInto = accumulateInto

        // --- Lifetimes --------------------------------------------------------------------
        let lossStep = n, end = 2 * n + 1
        func backwardStep(_ i: Int) -> Int { 2 * n - i }
        let perSample = nodes.map { $0.shape.elementCount }

        /// Whether node `c`'s backward reads the VALUE of its input.
        func backwardReadsInput(_ c: Node) -> Bool {
            switch c.op {
            case .conv, .batchNorm, .linear: true
            case .input, .relu, .maxPool, .avgPool, .globalAvgPool, .flatten, .add: false
            }
        }
        /// Whether node `c`'s backward reads its own output value.
        func backwardReadsOutput(_ c: Node) -> Bool {
            switch c.op {
            case .relu: true
            case .input, .conv, .batchNorm, .linear, .maxPool, .avgPool, .globalAvgPool, .flatten, .add: false
            }
        }

        // In-place ReLU: its input has no other reader, now or in backward.
        var inPlace = [Bool](repeating: false, count: n)
        for node in nodes {
            guard case .relu = node.op else { continue }
            let x = node.inputs[0], producer = nodes[x]
            inPlace[node.id] = x != graph.input && x != graph.output && consumers[x] == [node.id]
                && !(training && hasGrad[x] && backwardReadsOutput(producer))
        }
        self.inPlace = inPlace

        // Tensors: 0..<n values, n..<2n gradients, 2n..<3n indices. `storage` maps aliased
        // tensors (in-place ReLU) onto one buffer.
        var storage = Array(0..<(3 * n))
        var addAliases = [Int?](repeating: nil, count: n)
        var first = [Int](repeating: Int.max, count: 3 * n), last = [Int](repeating: -1, count: 3 * n)
        var size = [Int](repeating: 0, count: 3 * n)
        func live(_ t: Int, _ step: Int) { first[t] = min(first[t], step); last[t] = max(last[t], step) }

        for node in nodes {
            let i = node.id
            size[i] = perSample[i]
            live(i, i)
            if i == graph.output { live(i, end) }
            for c in consumers[i] {
                live(i, c)
                if training && hasGrad[c] && backwardReadsInput(nodes[c]) { live(i, backwardStep(c)) }
            }
            if training && hasGrad[i] && backwardReadsOutput(node) { live(i, backwardStep(i)) }
            if case .maxPool = node.op {
                size[2 * n + i] = perSample[i]
                live(2 * n + i, i)
                if training && hasGrad[i] { live(2 * n + i, backwardStep(i)) }
            }
            if training && hasGrad[i] {
                let g = n + i
                size[g] = perSample[i]
                if i == graph.output { live(g, lossStep) }
                for c in consumers[i] where hasGrad[c] { live(g, backwardStep(c)) }
                live(g, backwardStep(i))
                if i == graph.input { live(g, end) }
            }
        }
        for i in 0..<n where inPlace[i] { storage[i] = storage[nodes[i].inputs[0]] }
        // Add backward passes dy through unchanged: the gradient of one input it writes first
        // (overwrites) can BE dy's buffer, so that copy disappears. dy is read by no one else
        // and dies at the add's backward step, exactly where that input gradient is born.
        // Reverse order, so a chain of such aliases resolves to one buffer.
        if training {
            for node in nodes.reversed() where hasGrad[node.id] {
                guard case .add = node.op, node.inputs[0] != node.inputs[1] else { continue }
                if let k = (0..<2).first(where: { hasGrad[node.inputs[$0]] && !accumulateInto[node.id][$0] }) {
                    storage[n + node.inputs[k]] = storage[n + node.id]
                    addAliases[node.id] = k
                }
            }
        }
        var unshared = 0
        var groupFirst = [Int: Int](), groupLast = [Int: Int](), groupSize = [Int: Int]()
        for t in 0..<(3 * n) where last[t] >= 0 {
            unshared += size[t] * capacity
            let s = storage[t]
            groupFirst[s] = min(groupFirst[s] ?? .max, first[t])
            groupLast[s] = max(groupLast[s] ?? -1, last[t])
            groupSize[s] = max(groupSize[s] ?? 0, size[t])
        }
        self.unsharedTensorBytes = unshared * MemoryLayout<Float>.stride

        // --- Slot assignment: largest first, first slot with no overlapping lifetime. -------
        let order = groupSize.keys.sorted { (groupSize[$0]!, $1) > (groupSize[$1]!, $0) }
        var slots: [(size: Int, intervals: [(Int, Int)])] = []
        var slotOf = [Int: Int]()
        for s in order {
            let (a, b) = (groupFirst[s]!, groupLast[s]!)
            let need = (groupSize[s]! * capacity + 15) & ~15
            if let k = slots.indices.first(where: { k in slots[k].size >= need
                && slots[k].intervals.allSatisfy { $0.1 < a || b < $0.0 } }) {
                slots[k].intervals.append((a, b))
                slotOf[s] = k
            } else {
                slotOf[s] = slots.count
                slots.append((need, [(a, b)]))
            }
        }
        var slotOffset = [Int](), total = 0
        for s in slots { slotOffset.append(total); total += s.size }
        self.slotSizes = slots.map(\.size)

        func region(_ t: Int) -> Region? {
            guard last[t] >= 0 else { return nil }
            return Region(offset: slotOffset[slotOf[storage[t]]!], perSample: size[t])
        }
        self.values = (0..<n).map { region($0) ?? Region(offset: 0, perSample: 0) }
        self.gradients = (0..<n).map { region(n + $0) }
        self.indices = (0..<n).map { region(2 * n + $0) }

        // --- Workspace and saved statistics --------------------------------------------------
        var workspaceCount = 0, statsCount = 0
        var statsOffset = [Int?](repeating: nil, count: n)
        for node in nodes {
            switch node.op {
            case .conv(let c):
                workspaceCount = max(workspaceCount, convGeometry(c, input: nodes[node.inputs[0]].shape, n: capacity).workspaceCount)
            case .batchNorm:
                statsOffset[node.id] = statsCount
                statsCount += (2 * node.shape.channels + 15) & ~15
            case .input, .relu, .maxPool, .avgPool, .globalAvgPool, .flatten, .linear, .add:
                break
            }
        }
        self.statsOffset = statsOffset
        self.gradientAliasedInput = addAliases
        arena = .allocate(capacity: max(total, 16))
        workspace = .allocate(capacity: max(workspaceCount, 16))
        stats = .allocate(capacity: max(statsCount, 16))
        // Touch everything now: page faults belong to planning, not to the first step.
        arena.initialize(repeating: 0)
        workspace.initialize(repeating: 0)
        stats.initialize(repeating: 0)
    }

    deinit {
        arena.deallocate()
        workspace.deallocate()
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
    @inline(__always) func value(_ i: Int, _ n: Int) -> UnsafeMutableBufferPointer<Float> {
        let r = values[i]
        return UnsafeMutableBufferPointer(start: arena.baseAddress! + r.offset, count: r.perSample * n)
    }

    @inline(__always) func gradient(_ i: Int, _ n: Int) -> UnsafeMutableBufferPointer<Float> {
        guard let r = gradients[i] else { preconditionFailure("node \(i) has no gradient in this plan") }
        return UnsafeMutableBufferPointer(start: arena.baseAddress! + r.offset, count: r.perSample * n)
    }

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

/// The kernel geometry of a conv node for a batch of `n`.
func convGeometry(_ c: Op.Conv, input x: Shape, n: Int) -> ConvGeometry {
    ConvGeometry(n: n, inChannels: x.channels, height: x.height, width: x.width, outChannels: c.outChannels,
                 kernelH: c.kernel.sizeH, kernelW: c.kernel.sizeW, strideH: c.kernel.strideH,
                 strideW: c.kernel.strideW, padH: c.kernel.padH, padW: c.kernel.padW, groups: c.groups)
}

/// The kernel geometry of a pooling node for a batch of `n`.
func poolGeometry(_ p: Op.Pool, input x: Shape, n: Int) -> PoolGeometry {
    PoolGeometry(planes: x.channels * n, height: x.height, width: x.width, kernelH: p.window.sizeH,
                 kernelW: p.window.sizeW, strideH: p.window.strideH, strideW: p.window.strideW,
                 padH: p.window.padH, padW: p.window.padW)
}
