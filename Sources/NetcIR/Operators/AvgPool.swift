import NetcKernels

/// Average pooling; padding counts as zeros (PyTorch's default, `count_include_pad`).
public struct AvgPool: SlidingPool {
    public var pool: Window
    public init(pool: Window) { self.pool = pool }
    public static let layers = [LayerDeclaration("avgpool", "average pooling (padding counts as zeros, PyTorch's default)",
                                                 attributes: poolAttributes(pad: "zero padding"))]
    public var kindName: String { "AvgPool2d" }
}

// MARK: Running

extension AvgPool {
    public func forward(_ c: ForwardContext) {
        avgPoolForward(geometry(input: c.inputShape(), n: c.n), x: c.input(), y: c.output)
    }

    public func backward(_ c: BackwardContext) {
        if c.wants() {
            avgPoolBackward(geometry(input: c.inputShape(), n: c.n), dy: c.dy, dx: c.inputGradient(), accumulate: c.accumulate[0])
        }
    }
}

// MARK: Export

extension AvgPool {
    public func exportONNX(_ node: Node, to out: inout some ONNXWriter) {
        out.op("AveragePool", out.inputs, pool.onnxAttributes + [("count_include_pad", .int(1))])   // padding counts as zeros
    }
}
