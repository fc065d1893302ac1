import NetcKernels

/// Two or more inputs of equal height and width stacked along channels, in order (Inception's join).
public struct Concat: Operator {
    public init() {}
    public static let layers = [LayerDeclaration("concat",
        "tensors of equal height and width stacked along channels, in order (Inception): `from: [a, b, ...]`")]
    public static func make(_ key: String, _ a: inout some LayerAttributeReader) -> Concat? { Concat() }
    public var kindName: String { "Concat" }
    public static var arity: ClosedRange<Int> { 2...Int.max }
    public static var isJoin: Bool { true }

    public func outputShape(_ inputs: [Shape]) throws(ShapeError) -> Shape {
        let maps = try inputs.map { shape throws(ShapeError) in try ShapeRules.map(shape, for: "concat") }
        guard let first = maps.first, maps.allSatisfy({ $0.height == first.height && $0.width == first.width }) else {
            throw ShapeError("cannot concatenate \(inputs.map(\.description).joined(separator: ", ")) along channels",
                             help: "every input needs the same height and width; give the branches the same stride and padding")
        }
        return .map(maps.reduce(0) { $0 + $1.channels }, first.height, first.width)
    }
}

// MARK: Running

extension Concat {
    public func forward(_ c: ForwardContext) {
        concatChannels(c.node.inputs.indices.map { c.input($0) }, into: c.output)
    }

    public func backward(_ c: BackwardContext) {
        concatChannelsBackward(c.dy, into: c.node.inputs.indices.map { k in
            (c.wants(k) ? c.inputGradient(k) : nil, c.inputShape(k).elementCount * c.n, c.accumulate[k])
        })
    }
}

// MARK: Export

extension Concat {
    public func exportONNX(_ node: Node, to out: inout some ONNXWriter) { out.op("Concat", out.inputs, [("axis", .int(1))]) }
}
