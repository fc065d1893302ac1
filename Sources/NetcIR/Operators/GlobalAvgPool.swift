import NetcKernels

/// The average over all positions of each channel: CxHxW to Cx1x1.
public struct GlobalAvgPool: Operator {
    public init() {}
    public static let layers = [LayerDeclaration("global_avgpool", prefix: "avgpool", "average over all positions: CxHxW to Cx1x1")]
    public static func make(_ key: String, _ a: inout some LayerAttributeReader) -> GlobalAvgPool? { GlobalAvgPool() }
    public var kindName: String { "AdaptiveAvgPool2d" }

    public func outputShape(_ inputs: [Shape]) throws(ShapeError) -> Shape {
        let x = try ShapeRules.map(inputs[0], for: "global_avgpool")
        return .map(x.channels, 1, 1)
    }
}

// MARK: Running

extension GlobalAvgPool {
    public func forward(_ c: ForwardContext) {
        let s = c.inputShape()
        globalAvgPoolForward(x: c.input(), y: c.output, planes: s.channels * c.n, spatial: s.height * s.width)
    }

    public func backward(_ c: BackwardContext) {
        let s = c.inputShape()
        if c.wants() {
            globalAvgPoolBackward(dy: c.dy, dx: c.inputGradient(), planes: s.channels * c.n, spatial: s.height * s.width,
                                  accumulate: c.accumulate[0])
        }
    }
}

// MARK: Export

extension GlobalAvgPool {
    public func exportONNX(_ node: Node, to out: inout some ONNXWriter) { out.op("GlobalAveragePool", out.inputs) }
}
