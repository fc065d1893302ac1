import NetcKernels

/// `x` where positive, `slope * x` elsewhere: PyTorch's LeakyReLU, Darknet's `leaky` (slope 0.1).
public struct LeakyReLU: Operator {
    /// The slope of the negative part, 0 through 1 (so the output is positive exactly where the
    /// input is, and backward can read the output instead of keeping the input).
    public var slope: Double

    public init(slope: Double = 0.01) { self.slope = slope }

    public static let layers = [LayerDeclaration("leaky_relu", prefix: "leaky",
        "x where positive, slope * x elsewhere (PyTorch's LeakyReLU, Darknet's leaky)",
        attributes: [LayerAttribute("slope", default: "0.01", "the slope of the negative part, 0 through 1 (PyTorch's negative_slope)")])]

    public static func make(_ key: String, _ a: inout some LayerAttributeReader) -> LeakyReLU? {
        a.number("slope", default: 0.01, .unit,
                 help: "it scales the negative part: use e.g. 0.01 (PyTorch's default) or 0.1 (Darknet's)").map(LeakyReLU.init)
    }

    public var kindName: String { "LeakyReLU" }
    public func outputShape(_ inputs: [Shape]) throws(ShapeError) -> Shape { inputs[0] }
}

// MARK: Running

extension LeakyReLU {
    public var memoryNeeds: MemoryNeeds { MemoryNeeds(backwardReadsOutput: true, trainsInPlace: true) }
    public func inPlaceInputs(_ node: Node, in graph: Graph) -> [Int] { [0] }
    public func forward(_ c: ForwardContext) { leakyReluForward(slope: Float(slope), x: c.input(), y: c.output) }
    public func backward(_ c: BackwardContext) {
        if c.wants() { leakyReluBackward(slope: Float(slope), y: c.output, dy: c.dy, dx: c.inputGradient(), accumulate: c.accumulate[0]) }
    }
}

// MARK: Export

extension LeakyReLU {
    public func exportONNX(_ node: Node, to out: inout some ONNXWriter) { out.op("LeakyRelu", out.inputs, [("alpha", .float(Float(slope)))]) }
}
