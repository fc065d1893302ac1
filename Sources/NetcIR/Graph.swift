/// One operation in the graph, with everything later stages need without looking back at the spec.
public struct Node: Hashable, Sendable {
    public typealias ID = Int

    public var id: ID
    public var op: any Operator
    /// Producers of this node's inputs, in the op's argument order.
    public var inputs: [ID]
    /// Inferred output shape of one sample.
    public var shape: Shape
    /// Parameters the op owns; their values live in the runtime's parameter store.
    public var parameters: [ParameterSpec]
    /// Hierarchical, stable name (`stages.1.0.conv1`); parameter `p` is stored as `name.p`.
    public var name: String
    /// The module this node belongs to, innermost last (indices into `Graph.modules`).
    public var module: Module.ID?
    /// The YAML node that produced this op.
    public var origin: SourceLocation?

    public init(id: ID, op: any Operator, inputs: [ID], shape: Shape, parameters: [ParameterSpec], name: String,
                module: Module.ID?, origin: SourceLocation?) {
        self.id = id; self.op = op; self.inputs = inputs; self.shape = shape; self.parameters = parameters
        self.name = name; self.module = module; self.origin = origin
    }

    public static func == (a: Node, b: Node) -> Bool {
        a.id == b.id && a.op.isEqual(to: b.op) && a.inputs == b.inputs && a.shape == b.shape && a.parameters == b.parameters
            && a.name == b.name && a.module == b.module && a.origin == b.origin
    }

    public func hash(into h: inout Hasher) {
        h.combine(id); h.combine(op); h.combine(inputs); h.combine(shape); h.combine(name)
    }
}

/// A named group of nodes: the stem, a stage, a block, a shortcut, the head.
/// Modules nest, which gives summaries their tree and `--depth` its meaning.
public struct Module: Hashable, Sendable {
    public typealias ID = Int
    public var id: ID
    /// Hierarchical name (`stages.1.0`).
    public var name: String
    /// What it is, for tables: `stem`, `stage`, the block template's name, `shortcut`, `head`.
    public var kind: String
    public var parent: ID?
    public var depth: Int
    public var origin: SourceLocation?
}

/// A network as a DAG of ops in topological order: every node's inputs come before it.
public struct Graph: Hashable, Sendable {
    public var name: String
    public var nodes: [Node]
    public var modules: [Module]
    public var input: Node.ID
    public var output: Node.ID

    public var inputShape: Shape { nodes[input].shape }
    public var outputShape: Shape { nodes[output].shape }
}

/// Builds a graph node by node, inferring each shape as it goes.
public struct GraphBuilder: Sendable {
    public private(set) var nodes: [Node] = []
    public private(set) var modules: [Module] = []
    private var moduleStack: [Module.ID] = []
    private var names: [String: Int] = [:]

    public init() {}

    public var currentModule: Module.ID? { moduleStack.last }

    /// Adds the graph input of the given per-sample shape.
    public mutating func addInput(_ shape: Shape, origin: SourceLocation?) -> Node.ID {
        append(Node(id: nodes.count, op: Input(), inputs: [], shape: shape, parameters: [],
                    name: "input", module: nil, origin: origin))
    }

    /// Most nodes a graph may have: far beyond ResNet-1001, and small enough that costs can be
    /// summed in `Int` without overflow.
    public static let maxNodes = 100_000
    /// Most output elements, parameters or multiply-adds one node may have (per sample).
    public static let maxPerNode = 1e12

    /// Whether the graph has reached `maxNodes`.
    public var isFull: Bool { nodes.count >= Self.maxNodes }

    /// Adds `op` applied to `inputs` under `name` (made unique within the graph).
    public mutating func add(_ op: any Operator, _ inputs: [Node.ID], name: String,
                             origin: SourceLocation?) throws(ShapeError) -> Node.ID {
        guard !isFull else {
            throw ShapeError("the network has more than \(Self.maxNodes) layers", help: "check the stages' depths")
        }
        precondition(type(of: op).arity.contains(inputs.count), "\(op.kindName) takes \(type(of: op).arity) inputs, not \(inputs.count)")
        let inputShapes = inputs.map { nodes[$0].shape }
        let shape = try op.outputShape(inputShapes)
        try Self.checkSize(op, inputShapes.first, shape)
        let parameters = inputShapes.first.map { op.parameters(input: $0) } ?? []
        return append(Node(id: nodes.count, op: op, inputs: inputs, shape: shape, parameters: parameters,
                           name: uniqueName(name), module: currentModule, origin: origin))
    }

    /// Refuses a node too large to count in `Int` (checked in `Double` before anything multiplies).
    private static func checkSize(_ op: any Operator, _ input: Shape?, _ output: Shape) throws(ShapeError) {
        let elements = output.dims.reduce(1.0) { $0 * Double($1) }
        let parameters = input.map { op.parameters(input: $0).reduce(0.0) { $0 + $1.shape.reduce(1.0) { $0 * Double($1) } } } ?? 0
        // A windowed op applies its parameters at every output position.
        let positions = op.window == nil ? 1 : Double(output.height) * Double(output.width)
        let macs = parameters * positions
        guard max(elements, parameters, macs) <= maxPerNode else {
            // %g, not Int(_:): these counts may be far beyond Int's range (2^80 parameters).
            let count = { (d: Double) in String(format: d < 1e15 ? "%.0f" : "%.3g", d) }
            throw ShapeError("the layer is too large: \(output) outputs, \(count(parameters)) parameters, \(count(macs)) multiply-adds per sample",
                             help: "netc takes layers of up to 10^12 of each; check the channel counts and the input size")
        }
    }

    public func shape(of id: Node.ID) -> Shape { nodes[id].shape }
    public func node(_ id: Node.ID) -> Node { nodes[id] }

    /// Opens a module; nodes added until `endModule` belong to it.
    public mutating func beginModule(_ name: String, kind: String, origin: SourceLocation?) {
        let id = modules.count
        modules.append(Module(id: id, name: name, kind: kind, parent: moduleStack.last,
                              depth: moduleStack.count + 1, origin: origin))
        moduleStack.append(id)
    }

    public mutating func endModule() { moduleStack.removeLast() }

    public func finish(name: String, input: Node.ID, output: Node.ID) -> Graph {
        Graph(name: name, nodes: nodes, modules: modules, input: input, output: output)
    }

    private mutating func append(_ node: Node) -> Node.ID {
        nodes.append(node)
        return node.id
    }

    private mutating func uniqueName(_ name: String) -> String {
        let seen = names[name, default: 0]
        names[name] = seen + 1
        return seen == 0 ? name : "\(name)_\(seen)"
    }
}
