import NetcKernels

/// Elementwise product of two inputs: equally shaped, or a CxHxW map and a Cx1x1 per-channel
/// scale in either order (squeeze-and-excitation's gate).
public struct Mul: Operator {
    public init() {}
    public static let layers = [LayerDeclaration("mul",
        "elementwise product of two tensors, or of a CxHxW map and a Cx1x1 per-channel scale (squeeze-and-excitation): `from` as for add")]
    public static func make(_ key: String, _ a: inout some LayerAttributeReader) -> Mul? { Mul() }
    public var kindName: String { "Mul" }
    public static var arity: ClosedRange<Int> { 2...2 }
    public static var isJoin: Bool { true }

    public func outputShape(_ inputs: [Shape]) throws(ShapeError) -> Shape {
        let (a, b) = (inputs[0], inputs[1])
        if a == b { return a }
        if a.isMap, b.isMap, a.channels == b.channels {
            if b.height == 1 && b.width == 1 { return a }
            if a.height == 1 && a.width == 1 { return b }
        }
        throw ShapeError("cannot multiply \(a) by \(b)",
                         help: "multiply equal shapes, or a CxHxW map by a Cx1x1 scale (e.g. the output of 'global_avgpool' and a 1x1 conv)")
    }
}

// MARK: Running

extension Mul {
    public var memoryNeeds: MemoryNeeds { MemoryNeeds(backwardReadsInputs: true) }

    /// In place on the map (a dying scale is smaller than the output).
    public func inPlaceInputs(_ node: Node, in graph: Graph) -> [Int] { [Layout(node, in: graph, n: 1).map] }

    public func forward(_ c: ForwardContext) {
        let m = Layout(c.node, in: c.graph, n: c.n)
        scalePlanes(x: c.input(m.map), scale: c.input(m.scale), y: c.output, planes: m.planes, spatial: m.spatial)
    }

    public func backward(_ c: BackwardContext) {
        let m = Layout(c.node, in: c.graph, n: c.n)
        scalePlanesBackward(x: c.input(m.map), scale: c.input(m.scale), dy: c.dy,
                            dx: c.wants(m.map) ? c.inputGradient(m.map) : nil, accumulateX: c.accumulate[m.map],
                            dScale: c.wants(m.scale) ? c.inputGradient(m.scale) : nil, accumulateScale: c.accumulate[m.scale],
                            planes: m.planes, spatial: m.spatial)
    }

    /// How the kernel (`scalePlanes`) sees the two inputs in the CNHW layout: which one is the map
    /// and which the per-plane scale, and the planes of a batch of `n`.
    struct Layout {
        /// Input positions of the map (the output's shape) and of the scale.
        let map: Int, scale: Int
        let planes: Int, spatial: Int

        init(_ node: Node, in graph: Graph, n: Int) {
            let shapes = node.inputs.map { graph.nodes[$0].shape }
            if shapes[0] == shapes[1] {
                // Equal shapes: every value its own plane.
                (map, scale, planes, spatial) = (0, 1, shapes[0].elementCount * n, 1)
            } else {
                // A CxHxW map and a Cx1x1 scale: a plane per channel and sample.
                map = shapes[0] == node.shape ? 0 : 1
                scale = 1 - map
                (planes, spatial) = (node.shape.channels * n, node.shape.height * node.shape.width)
            }
        }
    }
}

// MARK: Export

extension Mul {
    /// ONNX broadcasts a [N, C, 1, 1] scale over [N, C, H, W] as the kernel does.
    public func exportONNX(_ node: Node, to out: inout some ONNXWriter) { out.op("Mul", out.inputs) }
}
