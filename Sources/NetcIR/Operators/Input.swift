import NetcKernels

/// The network's input; exactly one per graph, made by the graph builder rather than a spec key.
public struct Input: Operator {
    public init() {}
    public static let layers: [LayerDeclaration] = []
    public static func make(_ key: String, _ a: inout some LayerAttributeReader) -> Input? { nil }
    public var kindName: String { "Input" }
    public static var arity: ClosedRange<Int> { 0...0 }
    public var drawingStyle: DrawingStyle { .input }
    public func outputShape(_ inputs: [Shape]) throws(ShapeError) -> Shape { throw ShapeError("the input has no shape of its own") }
}

// MARK: Running

extension Input {
    /// The batch arrives in NCHW; every kernel after it works in CNHW.
    public func forward(_ c: ForwardContext) {
        let s = c.node.shape
        nchwToCnhw(c.networkInput!, c.output, n: c.n, c: s.channels, spatial: s.height * s.width)
    }

    /// The input's gradient, when asked for, is what its consumers wrote.
    public func backward(_ c: BackwardContext) {}
}

// MARK: Export

extension Input {
    /// The graph's input is the ONNX graph's input, not an operator.
    public func exportONNX(_ node: Node, to out: inout some ONNXWriter) {}
}
