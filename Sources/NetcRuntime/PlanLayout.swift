import NetcIR
import NetcKernels

/// Where every tensor of a plan lives, per sample: lifetimes, in-place and aliased buffers,
/// and arena slots, everything an `ExecutionPlan` decides but its memory. Independent of the
/// batch size, so the bytes a batch would need can be computed without allocating them
/// (`ExecutionPlan.bytes`), and a batch too large for the machine refused before it aborts.
///
/// See `ExecutionPlan` for the timeline, the reuse rules and the layout.
struct PlanLayout {
    /// A tensor's arena slot (nil for a value no one reads) and its floats per sample.
    struct Region {
        var slot: Int?
        var perSample: Int
    }

    let values: [Region]
    let gradients: [Region?]
    let indices: [Region?]
    let statsOffset: [Int?]
    /// Floats of saved batch statistics (mean and 1/std of every batch norm).
    let statsCount: Int
    let inPlace: [Bool]
    let hasGradient: [Bool]
    let gradientAliasedInput: [Int?]
    let accumulateInto: [[Bool]]
    /// For a batch norm that applies the ReLU after it (training, `ProgramPass.fuseBatchNormReLU`),
    /// that ReLU; such a ReLU runs no kernel of its own.
    let fusedReLU: [Node.ID?]
    let fusedAway: [Bool]
    /// Floats per sample of each arena slot; a batch of `n` takes `n` times that, rounded up to 16.
    let slotPerSample: [Int]
    /// Floats per sample of every tensor if each had its own buffer.
    let unsharedPerSample: Int
    /// Every convolution (its node, op and input shape), whose algorithms' largest scratch sizes the workspace.
    let convs: [(Node.ID, Conv, Shape)]
    /// Whether the plan is for training (whose forward takes no Winograd tile).
    let training: Bool

    init(graph: Graph, training: Bool, inputGradient: Bool) {
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
            for node in nodes where hasGrad[node.id] && node.op.memoryNeeds.alwaysWritesInputGradient {
                for x in node.inputs { hasGrad[x] = true }
            }
        }
        self.hasGradient = hasGrad

        var fusedReLU = [Node.ID?](repeating: nil, count: n), fusedAway = [Bool](repeating: false, count: n)
        if training {
            for step in Program.training(graph).steps where step.relu != nil {
                fusedReLU[step.node] = step.relu
                fusedAway[step.relu!] = true
            }
        }
        self.fusedReLU = fusedReLU
        self.fusedAway = fusedAway

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

        func backwardReadsInput(_ c: Node) -> Bool { c.op.memoryNeeds.backwardReadsInputs }
        func backwardReadsOutput(_ c: Node) -> Bool { c.op.memoryNeeds.backwardReadsOutput }

        // In place (ReLU): its input has no other reader, now or in backward.
        var inPlace = [Bool](repeating: false, count: n)
        for node in nodes {
            guard node.op.memoryNeeds.trainsInPlace else { continue }
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
            if node.op.memoryNeeds.keepsWinners {
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
        // A fused ReLU's output is its batch norm's (in place), and the batch norm's backward reads
        // the ReLU's gradient instead of a gradient of its own (and recomputes the ReLU's mask
        // from its input, so the output need not outlive its readers).
        for bn in 0..<n {
            guard let relu = fusedReLU[bn] else { continue }
            precondition(inPlace[relu], "a fused ReLU runs in place")
            if hasGrad[bn] {
                live(n + relu, backwardStep(bn))
                first[n + bn] = .max; last[n + bn] = -1; size[n + bn] = 0
            }
        }
        for i in 0..<n where inPlace[i] { storage[i] = storage[nodes[i].inputs[0]] }
        // Add backward passes dy through unchanged: the gradient of one input it writes first
        // (overwrites) can BE dy's buffer, so that copy disappears. dy is read by no one else
        // and dies at the add's backward step, exactly where that input gradient is born.
        // Reverse order, so a chain of such aliases resolves to one buffer.
        if training {
            for node in nodes.reversed() where hasGrad[node.id] {
                guard node.op is Add, node.inputs[0] != node.inputs[1] else { continue }
                if let k = (0..<2).first(where: { hasGrad[node.inputs[$0]] && !accumulateInto[node.id][$0] }) {
                    storage[n + node.inputs[k]] = storage[n + node.id]
                    addAliases[node.id] = k
                }
            }
        }
        var unshared = 0
        var groupFirst = [Int: Int](), groupLast = [Int: Int](), groupSize = [Int: Int]()
        for t in 0..<(3 * n) where last[t] >= 0 {
            unshared += size[t]
            let s = storage[t]
            groupFirst[s] = min(groupFirst[s] ?? .max, first[t])
            groupLast[s] = max(groupLast[s] ?? -1, last[t])
            groupSize[s] = max(groupSize[s] ?? 0, size[t])
        }
        self.unsharedPerSample = unshared

        let groups = groupSize.keys.sorted()
        let packing = SlotPacking(groups.map { SlotPacking.Tensor(size: groupSize[$0]!, first: groupFirst[$0]!, last: groupLast[$0]!) })
        let slotOf = Dictionary(uniqueKeysWithValues: zip(groups, packing.slotOf))
        self.slotPerSample = packing.slotSizes

        func region(_ t: Int) -> Region? {
            guard last[t] >= 0 else { return nil }
            return Region(slot: slotOf[storage[t]]!, perSample: size[t])
        }
        self.values = (0..<n).map { region($0) ?? Region(slot: nil, perSample: 0) }
        self.gradients = (0..<n).map { region(n + $0) }
        self.indices = (0..<n).map { region(2 * n + $0) }

        // --- Workspace and saved statistics --------------------------------------------------
        var convs: [(Node.ID, Conv, Shape)] = [], statsCount = 0
        var statsOffset = [Int?](repeating: nil, count: n)
        for node in nodes {
            if let c = node.op as? Conv { convs.append((node.id, c, nodes[node.inputs[0]].shape)) }
            if node.op.memoryNeeds.keepsStatistics {
                statsOffset[node.id] = statsCount
                statsCount += (2 * node.shape.channels + 15) & ~15
            }
        }
        self.convs = convs
        self.training = training
        self.statsCount = statsCount
        self.statsOffset = statsOffset
        self.gradientAliasedInput = addAliases
    }

    /// Floats of slot `k` for a batch of `capacity`: 16-float aligned.
    func slotCount(_ k: Int, capacity: Int) -> Int { (slotPerSample[k] * capacity + 15) & ~15 }

    /// Each convolution's algorithms for batches of `capacity`, forward and (training) backward;
    /// nil for other nodes.
    func algorithms(capacity: Int) -> (forward: [ConvAlgorithm?], backward: [ConvAlgorithm?]) {
        var forward = [ConvAlgorithm?](repeating: nil, count: values.count), backward = forward
        for (id, c, shape) in convs {
            (forward[id], backward[id]) = ConvAlgorithm.choose(c.geometry(input: shape, n: capacity), training: training)
        }
        return (forward, backward)
    }

    /// Floats of the conv workspace for a batch of `capacity`: the most any pass needs.
    func workspaceCount(capacity: Int) -> Int {
        let (forward, backward) = algorithms(capacity: capacity)
        return convs.map { id, c, shape in
            let g = c.geometry(input: shape, n: capacity)
            return [forward[id], backward[id]].compactMap { $0?.workspaceCount(g) }.max() ?? 0
        }.max() ?? 0
    }

    /// Bytes the plan allocates for a batch of `capacity` (arena, workspace, statistics), or
    /// nil if that number overflows an Int.
    func bytes(capacity: Int) -> Int? {
        var floats = max(workspaceCount(capacity: capacity), 16) + max(statsCount, 16), arena = 0
        for perSample in slotPerSample {
            let (f, overflow) = perSample.multipliedReportingOverflow(by: capacity)
            guard !overflow, f <= Int.max - 16 - arena else { return nil }
            arena += (f + 15) & ~15
        }
        let (total, overflow) = floats.addingReportingOverflow(max(arena, 16))
        guard !overflow else { return nil }
        floats = total
        let (b, overflowBytes) = floats.multipliedReportingOverflow(by: MemoryLayout<Float>.stride)
        return overflowBytes ? nil : b
    }
}
