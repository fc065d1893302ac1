/// What a node costs per sample, under each tool's counting convention, so netc's figures can be
/// compared line by line with torchinfo's and with torchvision's and pycls's published tables.
public struct Cost: Hashable, Sendable {
    /// Trainable parameters (what torchinfo calls params; batch-norm running statistics excluded).
    public var parameters = 0
    /// Non-trainable tensors saved with the model (batch-norm running statistics).
    public var buffers = 0
    /// torchinfo's "mult-adds": every parameter (weights and bias) times the output positions it is
    /// applied at; for batch norm and linear layers, once per sample.
    public var torchinfoMACs = 0
    /// Multiply-accumulates of convolutions and linear layers only, bias excluded:
    /// the convention of torchvision's GFLOPS column and fvcore (pycls adds the biases: `pyclsFlops`).
    public var macs = 0
    /// Output elements of convolutions and linear layers.
    public var activations = 0
    /// pycls's `flops` (`conv2d_cx`, `linear_cx`): `macs` plus each conv's and linear layer's bias,
    /// counted once per output channel or feature, not per position.
    public var pyclsFlops = 0
    /// pycls's `acts`: `activations` plus the outputs of max and average pooling (`pool2d_cx`);
    /// global average pooling adds none (`gap2d_cx`).
    public var pyclsActivations = 0
    /// Output elements torchinfo keeps for its "forward/backward pass size": outputs of layers that
    /// own parameters, counted twice (value and gradient).
    public var torchinfoPassElements = 0

    public init() {}

    public static func + (a: Cost, b: Cost) -> Cost {
        var c = a
        c.parameters += b.parameters
        c.buffers += b.buffers
        c.torchinfoMACs += b.torchinfoMACs
        c.macs += b.macs
        c.activations += b.activations
        c.pyclsFlops += b.pyclsFlops
        c.pyclsActivations += b.pyclsActivations
        c.torchinfoPassElements += b.torchinfoPassElements
        return c
    }
}

extension Node {
    /// The node's cost for one sample.
    public var cost: Cost {
        var c = Cost()
        c.parameters = parameters.filter { $0.role == .trainable }.reduce(0) { $0 + $1.elementCount }
        c.buffers = parameters.filter { $0.role == .buffer }.reduce(0) { $0 + $1.elementCount }
        if c.parameters > 0 { c.torchinfoPassElements = 2 * shape.elementCount }
        op.addWork(to: &c, of: self)
        c.pyclsActivations += c.activations
        return c
    }
}

extension Graph {
    /// The whole network's cost for one sample.
    public var cost: Cost { nodes.reduce(Cost()) { $0 + $1.cost } }

    /// Cost of the nodes inside a module and its submodules.
    public func cost(of module: Module.ID) -> Cost {
        nodes.filter { isNode($0, inside: module) }.reduce(Cost()) { $0 + $1.cost }
    }

    /// Whether the node belongs to the module or one nested in it.
    public func isNode(_ node: Node, inside module: Module.ID) -> Bool {
        var m = node.module
        while let current = m {
            if current == module { return true }
            m = modules[current].parent
        }
        return false
    }
}
