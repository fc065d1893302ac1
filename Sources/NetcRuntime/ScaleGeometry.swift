import NetcIR

/// How a `mul` node's kernel (`scalePlanes`) sees its two inputs in the CNHW layout: which one is
/// the map and which the per-plane scale, and the planes of a batch of `n`.
struct ScaleGeometry {
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
