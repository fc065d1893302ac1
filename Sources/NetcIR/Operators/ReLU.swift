import NetcKernels

/// The rectified linear unit, max(x, 0).
public struct ReLU: Operator {
    public init() {}
    public static let layers = [LayerDeclaration("relu", "rectified linear unit")]
    public static func make(_ key: String, _ a: inout some LayerAttributeReader) -> ReLU? { ReLU() }
    public var kindName: String { "ReLU" }
    public func outputShape(_ inputs: [Shape]) throws(ShapeError) -> Shape { inputs[0] }
}

// MARK: Running

extension ReLU {
    public var memoryNeeds: MemoryNeeds { MemoryNeeds(backwardReadsOutput: true, trainsInPlace: true) }
    public func inPlaceInputs(_ node: Node, in graph: Graph) -> [Int] { [0] }
    public func forward(_ c: ForwardContext) { reluForward(x: c.input(), y: c.output) }
    public func backward(_ c: BackwardContext) {
        if c.wants() { reluBackward(y: c.output, dy: c.dy, dx: c.inputGradient(), accumulate: c.accumulate[0]) }
    }
}

// MARK: Export

extension ReLU {
    public func exportONNX(_ node: Node, to out: inout some ONNXWriter) { out.op("Relu", out.inputs) }
}
