import NetcIR
import NetcKernels

/// Every parameter of a graph, kept apart from the graph itself: values and gradients of the
/// trainable ones, each in one contiguous allocation. An optimizer keeps its own state
/// (`NetcTrain.Optimizer`), laid out as the values (`offset`, `totalCount`).
///
/// Parameters are addressed by their full name `"\(node.name).\(param.name)"`
/// (`stages.1.0.conv1.weight`), the same key PyTorch's `state_dict` uses. The order is the
/// graph's node order, then each op's parameter order, so it is stable across runs and
/// matches `named_parameters()` / `state_dict()` ordering.
///
/// All memory is allocated in `init`.
public final class ParameterStore {
    /// One stored tensor.
    public struct Entry: Sendable {
        /// Full name, `node.param`.
        public var name: String
        public var node: Node.ID
        /// Index of the parameter within its node's `parameters`.
        public var index: Int
        public var shape: [Int]
        public var role: ParameterSpec.Role
        /// Offset (in floats) into the value and gradient storage (and an optimizer's).
        public var offset: Int
        public var count: Int
    }

    /// All parameters in stable order.
    public let entries: [Entry]
    private let byName: [String: Int]
    /// Entry indices of each node's parameters, in the op's order.
    let entriesOfNode: [[Int]]
    /// Total floats of each storage.
    public let totalCount: Int

    private let values: UnsafeMutableBufferPointer<Float>
    // Gradients have the same layout as values (buffers' slots just stay zero), so one offset
    // addresses both.
    private let gradients: UnsafeMutableBufferPointer<Float>
    /// Grows whenever values may have changed (a step, a load, a writable view handed out), so
    /// what is computed from them (folded conv weights) knows when to be recomputed.
    public private(set) var generation = 0

    /// Records that values may have changed.
    public func noteChange() { generation &+= 1 }

    public init(graph: Graph) {
        var entries: [Entry] = [], byName: [String: Int] = [:]
        var ofNode = [[Int]](repeating: [], count: graph.nodes.count)
        var offset = 0
        for node in graph.nodes {
            for (k, p) in node.parameters.enumerated() {
                let name = "\(node.name).\(p.name)"
                precondition(byName[name] == nil, "duplicate parameter name \(name)")
                byName[name] = entries.count
                ofNode[node.id].append(entries.count)
                entries.append(Entry(name: name, node: node.id, index: k, shape: p.shape, role: p.role,
                                     offset: offset, count: p.elementCount))
                offset += Self.alignedCount(p)
            }
        }
        self.entries = entries
        self.byName = byName
        self.entriesOfNode = ofNode
        self.totalCount = offset
        values = allocateLargeBuffer(max(offset, 1))
        gradients = allocateLargeBuffer(max(offset, 1))
        values.initialize(repeating: 0)
        gradients.initialize(repeating: 0)
    }

    deinit {
        deallocateLargeBuffer(values)
        deallocateLargeBuffer(gradients)
    }

    /// Names in stable order.
    public var names: [String] { entries.map(\.name) }

    /// Number of trainable scalars (what torchinfo calls parameters).
    public var trainableCount: Int { entries.filter { $0.role == .trainable }.reduce(0) { $0 + $1.count } }

    /// Bytes of the parameters in training at most: values, gradients, and the optimizer's state,
    /// which is at most two tensors per parameter (AdamW's moments).
    public var bytes: Int { 4 * totalCount * MemoryLayout<Float>.stride }

    /// What `bytes` will be for a store of `graph`, known without allocating it.
    public static func bytes(of graph: Graph) -> Int {
        4 * totalCount(of: graph) * MemoryLayout<Float>.stride
    }

    /// What `totalCount` will be for a store of `graph`: the floats of each storage.
    public static func totalCount(of graph: Graph) -> Int {
        graph.nodes.reduce(0) { sum, node in sum + node.parameters.reduce(0) { $0 + alignedCount($1) } }
    }

    /// Floats a parameter takes in each storage: 16-float (64-byte) alignment keeps every
    /// tensor on its own cache lines.
    static func alignedCount(_ p: ParameterSpec) -> Int { (p.elementCount + 15) & ~15 }

    public func entry(_ name: String) -> Entry? { byName[name].map { entries[$0] } }

    /// The live storage of a parameter's values (writes go straight into the model).
    public func value(_ name: String) -> UnsafeMutableBufferPointer<Float> {
        guard let i = byName[name] else { preconditionFailure("no parameter named \(name)") }
        return value(at: i)
    }

    /// The gradient of a trainable parameter after `Interpreter.backward()`.
    public func gradient(_ name: String) -> UnsafeMutableBufferPointer<Float> {
        guard let i = byName[name] else { preconditionFailure("no parameter named \(name)") }
        return gradient(at: i)
    }

    /// Values by entry index.
    public func value(at i: Int) -> UnsafeMutableBufferPointer<Float> {
        noteChange()
        return UnsafeMutableBufferPointer(rebasing: values[entries[i].offset ..< entries[i].offset + entries[i].count])
    }

    /// Every gradient in one buffer (zeros for buffers): what data-parallel training sums over ranks.
    public var allGradients: UnsafeMutableBufferPointer<Float> { gradients }

    /// Gradient by entry index (zeros for buffers).
    public func gradient(at i: Int) -> UnsafeMutableBufferPointer<Float> {
        UnsafeMutableBufferPointer(rebasing: gradients[entries[i].offset ..< entries[i].offset + entries[i].count])
    }

    /// Copies of all values by name (for checkpoints and tests; allocates).
    public func snapshot() -> [String: [Float]] {
        var out: [String: [Float]] = [:]
        for (i, e) in entries.enumerated() { out[e.name] = Array(value(at: i)) }
        return out
    }

    /// Loads values by name; every name must exist with the right element count.
    public func load(_ tensors: [String: [Float]]) {
        for (name, data) in tensors {
            let v = value(name)
            precondition(v.count == data.count, "\(name): expected \(v.count) values, got \(data.count)")
            _ = v.update(fromContentsOf: data)
        }
    }
}
