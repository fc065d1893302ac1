import NetcKernels

/// Elementwise sum of two equally shaped inputs: the residual join.
public struct Add: Operator {
    public init() {}
    public static let layers = [LayerDeclaration("add",
        "elementwise sum of two equally shaped tensors: `from: [a, b]`, or `from: a` to add it to the previous layer's output")]
    public static func make(_ key: String, _ a: inout some LayerAttributeReader) -> Add? { Add() }
    public var kindName: String { "Add" }
    public static var arity: ClosedRange<Int> { 2...2 }
    public static var isJoin: Bool { true }

    public func outputShape(_ inputs: [Shape]) throws(ShapeError) -> Shape {
        guard inputs[0] == inputs[1] else { throw ShapeError("cannot add \(inputs[0]) to \(inputs[1])") }
        return inputs[0]
    }
}

// MARK: Running

extension Add {
    public func inPlaceInputs(_ node: Node, in graph: Graph) -> [Int] { [0, 1] }
    public var appliesReLU: Bool { true }

    public func forward(_ c: ForwardContext) { add(c.input(0), c.input(1), into: c.output, relu: c.relu) }

    /// d(a + b) = dy for both; `add(x, x)` visits x twice, overwrite then accumulate. The plan may
    /// have made one input's gradient the same buffer as dy: nothing to do for it.
    public func backward(_ c: BackwardContext) {
        for k in 0..<2 where c.wants(k) && c.gradientIsOutputGradient != k {
            let target = c.inputGradient(k)
            if c.accumulate[k] {
                accumulate(c.dy, into: target)
            } else {
                target.baseAddress!.update(from: c.dy.baseAddress!, count: c.dy.count)
            }
        }
    }
}

// MARK: Export

extension Add {
    public func exportONNX(_ node: Node, to out: inout some ONNXWriter) { out.op("Add", out.inputs) }
}
