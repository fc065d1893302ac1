import NetcKernels

/// CxHxW to a vector of C*H*W.
public struct Flatten: Operator {
    public init() {}
    public static let layers = [LayerDeclaration("flatten", "CxHxW to a vector of C*H*W")]
    public static func make(_ key: String, _ a: inout some LayerAttributeReader) -> Flatten? { Flatten() }
    public var kindName: String { "Flatten" }
    public func outputShape(_ inputs: [Shape]) throws(ShapeError) -> Shape { .vector(inputs[0].elementCount) }
}

// MARK: Running

extension Flatten {
    public func forward(_ c: ForwardContext) {
        let s = c.inputShape()
        flattenForward(x: c.input(), y: c.output, channels: s.channels, n: c.n, spatial: s.height * s.width)
    }

    public func backward(_ c: BackwardContext) {
        let s = c.inputShape()
        if c.wants() {
            flattenBackward(dy: c.dy, dx: c.inputGradient(), channels: s.channels, n: c.n, spatial: s.height * s.width,
                            accumulate: c.accumulate[0])
        }
    }
}

// MARK: Export

extension Flatten {
    public func exportONNX(_ node: Node, to out: inout some ONNXWriter) { out.op("Flatten", out.inputs, [("axis", .int(1))]) }
}
