import NetcIR
import NetcKernels

/// Where every tensor of an inference program lives: only step outputs exist (what the passes
/// fused away never reaches memory), nothing is kept for backward, and a tensor's buffer is
/// reused as soon as its last reader has run.
///
/// A tensor lives from the step that writes it to the last step that reads it (the program's
/// output to the end). Three kinds of step write over a tensor that dies as they read it,
/// instead of taking a new buffer:
/// - a conv with a residual join accumulates onto the residual itself (its GEMMs run with
///   beta = 1), unless the conv also reads that tensor as its input or someone reads it later
///   (then the residual is copied into the output first);
/// - batch norm, ReLU and add, which are elementwise, write over an input.
/// Buffers are then packed into arena slots (`SlotPacking`). A plan built for batch `capacity`
/// runs any batch `n <= capacity`: every tensor is `[C][n][H][W]` in the first floats of its slot.
public final class InferencePlan: TensorStorage {
    public let program: Program
    public let capacity: Int
    let layout: Layout
    /// Where each arena slot starts, in floats, for this plan's capacity.
    let slotOffset: [Int]
    let arena: UnsafeMutableBufferPointer<Float>
    let workspace: UnsafeMutableBufferPointer<Float>
    /// False when the plan runs in memory it was lent (the training arena).
    public let ownsMemory: Bool

    /// Bytes the plan's arena and workspace take.
    public var plannedBytes: Int { layout.bytes(capacity: capacity) ?? .max }

    /// Allocates the plan's memory, or, given `memory` at least `plannedBytes` long, uses it
    /// (evaluation during training borrows the idle training arena instead of growing the process).
    public init(program: Program, batchSize capacity: Int, memory: UnsafeMutableBufferPointer<Float>? = nil) {
        precondition(capacity >= 1, "batch size must be positive")
        self.program = program
        self.capacity = capacity
        layout = Layout(program)
        let (offsets, arenaCount) = layout.slotOffsets(capacity: capacity)
        let workspaceCount = layout.workspaceCount(capacity: capacity)
        slotOffset = offsets
        if let memory, memory.count >= arenaCount + workspaceCount {
            arena = UnsafeMutableBufferPointer(rebasing: memory[0..<arenaCount])
            workspace = UnsafeMutableBufferPointer(rebasing: memory[arenaCount..<arenaCount + workspaceCount])
            ownsMemory = false
        } else {
            arena = allocateLargeBuffer(arenaCount)
            workspace = allocateLargeBuffer(workspaceCount)
            arena.initialize(repeating: 0)
            workspace.initialize(repeating: 0)
            ownsMemory = true
        }
    }

    deinit {
        if ownsMemory { deallocateLargeBuffer(arena); deallocateLargeBuffer(workspace) }
    }

    /// Bytes a plan of `program` for a batch of `capacity` takes, without allocating; nil on overflow.
    public static func bytes(program: Program, batchSize capacity: Int) -> Int? {
        Layout(program).bytes(capacity: capacity)
    }

    /// The value of node `id` (a step's output) for a batch of `n`.
    @inline(__always) public func value(_ id: Node.ID, _ n: Int) -> UnsafeMutableBufferPointer<Float> {
        guard let r = layout.values[id] else { preconditionFailure("node \(id) has no buffer in this plan") }
        return UnsafeMutableBufferPointer(start: arena.baseAddress! + slotOffset[r.slot], count: r.perSample * n)
    }

    /// Inference keeps no gradients.
    public func gradient(_ id: Node.ID, _ n: Int) -> UnsafeMutableBufferPointer<Float> { preconditionFailure("inference has no gradients") }
    public func hasGradient(_ id: Node.ID) -> Bool { false }

    /// Whether step `k`'s output buffer is its residual's (the conv accumulates onto it in place).
    public func accumulatesInPlace(_ k: Int) -> Bool { layout.residualInPlace[k] }

    /// Whether node `id` has a buffer of its own in the plan (false when it was fused away).
    public func hasBuffer(_ id: Node.ID) -> Bool { layout.values[id] != nil }

    /// The arena slot that holds node `id`'s value, for `explain`.
    public func slot(of id: Node.ID) -> Int? { layout.values[id]?.slot }

    /// The batch-independent part: which tensors exist, where they live, per sample.
    struct Layout {
        struct Region { var slot: Int; var perSample: Int }
        let values: [Region?]
        let residualInPlace: [Bool]
        /// Floats per sample of each slot.
        let slotPerSample: [Int]
        let convs: [(ConvGeometry, ConvAlgorithm)]

        init(_ program: Program) {
            let graph = program.graph, nodes = graph.nodes, n = nodes.count
            let steps = program.steps, end = steps.count
            // One tensor per node: its value (a max pool keeps no winners, there is no backward).
            var first = [Int](repeating: -1, count: n), last = [Int](repeating: -1, count: n)
            var size = [Int](repeating: 0, count: n)
            for (k, step) in steps.enumerated() {
                let out = step.output
                first[out] = k; last[out] = max(last[out], k); size[out] = nodes[out].shape.elementCount
                for x in program.reads(step) { last[x] = max(last[x], k) }
            }
            last[graph.output] = end

            var storage = Array(0..<n)
            var residualInPlace = [Bool](repeating: false, count: steps.count)
            for (k, step) in steps.enumerated() {
                let node = nodes[step.node], out = step.output
                if let r = step.residual {
                    // A conv accumulating onto a dying residual writes over it.
                    if last[r] == k, !node.inputs.contains(r) {
                        storage[out] = storage[r]
                        residualInPlace[k] = true
                    }
                } else if let j = node.op.inPlaceInputs(node, in: graph).first(where: { last[node.inputs[$0]] == k && node.inputs[$0] != graph.output }) {
                    storage[out] = storage[node.inputs[j]]
                }
            }
            var groups = [Int: SlotPacking.Tensor]()
            for t in 0..<n where first[t] >= 0 {
                let s = storage[t]
                var g = groups[s] ?? SlotPacking.Tensor(size: 0, first: .max, last: -1)
                g.size = max(g.size, size[t]); g.first = min(g.first, first[t]); g.last = max(g.last, last[t])
                groups[s] = g
            }
            let keys = groups.keys.sorted()
            let packing = SlotPacking(keys.map { groups[$0]! })
            let slotOf = Dictionary(uniqueKeysWithValues: zip(keys, packing.slotOf))
            func region(_ t: Int) -> Region? { first[t] >= 0 ? Region(slot: slotOf[storage[t]]!, perSample: size[t]) : nil }
            values = (0..<n).map(region)
            self.residualInPlace = residualInPlace
            slotPerSample = packing.slotSizes
            convs = steps.compactMap { step in
                guard let c = nodes[step.node].op as? Conv else { return nil }
                return (c.geometry(input: nodes[nodes[step.node].inputs[0]].shape, n: 1), step.algorithm!)
            }
        }

        /// Where each slot starts for a batch of `capacity` (each 16-float aligned), and the
        /// arena's floats.
        func slotOffsets(capacity: Int) -> (offsets: [Int], count: Int) {
            var total = 0
            let offsets = slotPerSample.map { perSample in
                defer { total += (perSample * capacity + 15) & ~15 }
                return total
            }
            return (offsets, max(total, 16))
        }

        func workspaceCount(capacity: Int) -> Int {
            max(16, convs.map { var g = $0.0; g.n = capacity; return $0.1.workspaceCount(g) }.max() ?? 0)
        }

        /// Bytes of arena and workspace, or nil on overflow.
        func bytes(capacity: Int) -> Int? {
            var floats = workspaceCount(capacity: capacity)
            for perSample in slotPerSample {
                let (f, overflow) = perSample.multipliedReportingOverflow(by: capacity)
                guard !overflow, f <= Int.max / 8 - floats else { return nil }
                floats += (f + 15) & ~15
            }
            return floats * MemoryLayout<Float>.stride
        }
    }
}
