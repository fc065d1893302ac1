import NetcKernels

/// Max pooling; padding never wins.
public struct MaxPool: SlidingPool {
    public var pool: Window
    public init(pool: Window) { self.pool = pool }
    public static let layers = [LayerDeclaration("maxpool", "max pooling", attributes: poolAttributes(pad: "padding (ignored by the max)"))]
    public var kindName: String { "MaxPool2d" }
}

// MARK: Running

extension MaxPool {
    public var memoryNeeds: MemoryNeeds { MemoryNeeds(keepsWinners: true) }

    public func forward(_ c: ForwardContext) {
        maxPoolForward(geometry(input: c.inputShape(), n: c.n), x: c.input(), y: c.output, indices: c.winners)
    }

    public func backward(_ c: BackwardContext) {
        if c.wants() {
            maxPoolBackward(geometry(input: c.inputShape(), n: c.n), dy: c.dy, indices: UnsafeBufferPointer(c.winners!),
                            dx: c.inputGradient(), accumulate: c.accumulate[0])
        }
    }
}

// MARK: Export

extension MaxPool {
    public func exportONNX(_ node: Node, to out: inout some ONNXWriter) { out.op("MaxPool", out.inputs, pool.onnxAttributes) }
}
