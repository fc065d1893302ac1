import NetcKernels

/// Zeroes each value with probability `p` in training and scales the rest by 1/(1-p)
/// (PyTorch's Dropout); the identity in evaluation.
public struct Dropout: Operator {
    public var p: Double

    public init(p: Double) { self.p = p }

    public static let layers = [LayerDeclaration("dropout",
        "in training, zeroes each value with probability p and scales the others by 1/(1-p) (PyTorch's Dropout); nothing in evaluation",
        attributes: [LayerAttribute("p", default: "0.5", "the fraction dropped, at least 0 and below 1")])]

    public static func make(_ key: String, _ a: inout some LayerAttributeReader) -> Dropout? {
        a.number("p", default: 0.5, .probability, help: "it is the fraction of values dropped: use e.g. 0.5, as PyTorch").map(Dropout.init)
    }

    public var kindName: String { "Dropout" }
    public func outputShape(_ inputs: [Shape]) throws(ShapeError) -> Shape { inputs[0] }
}

// MARK: Running

extension Dropout {
    // The backward draws the mask again from the same key: it reads no value.
    public func inPlaceInputs(_ node: Node, in graph: Graph) -> [Int] { [0] }

    public func forward(_ c: ForwardContext) {
        if c.training {
            dropoutForward(p: c.dropoutKey == nil ? 0 : p, key: c.dropoutKey ?? 0, x: c.input(), y: c.output)
        } else if c.input().baseAddress != UnsafePointer(c.output.baseAddress) {   // the identity outside training
            _ = c.output.update(fromContentsOf: c.input())
        }
    }

    public func backward(_ c: BackwardContext) {
        if c.wants() {
            dropoutBackward(p: c.dropoutKey == nil ? 0 : p, key: c.dropoutKey ?? 0, dy: c.dy, dx: c.inputGradient(), accumulate: c.accumulate[0])
        }
    }
}

// MARK: Export

extension Dropout {
    public func exportONNX(_ node: Node, to out: inout some ONNXWriter) { out.op("Identity", out.inputs) }
}
