import NetcIR
import NetcRuntime

/// A network and its weights as an ONNX model (opset 17, IR version 8) for inference: one ONNX
/// node per layer, named after it, with a dynamic batch axis. By default each batch norm that
/// follows a convolution is folded into the convolution's weights and bias, as inference runtimes
/// do; `keepBatchNorm` keeps BatchNormalization nodes. Field numbers are the ONNX specification's
/// (onnx.proto); the encoding is `ProtobufWriter`'s.
public struct ONNXExport {
    public static let opset = 17
    static let irVersion = 8

    /// One ONNX operator call.
    struct Operator {
        var type: String
        var name: String
        var inputs: [String]
        var output: String
        var attributes: [(String, ONNXAttribute)] = []
    }

    /// A weight tensor: its name, shape and values.
    struct Initializer {
        var name: String
        var dims: [Int]
        var values: [Float]
    }

    let graph: Graph
    private(set) var operators: [Operator] = []
    private(set) var initializers: [Initializer] = []
    /// The ONNX tensor that holds each node's value.
    private var tensor: [String]

    public init(graph: Graph, store: ParameterStore, keepBatchNorm: Bool = false) {
        self.graph = graph
        tensor = graph.nodes.map(\.name)
        let folded = keepBatchNorm ? [:] : Self.foldedBatchNorms(graph)
        let foldedAway = Set(folded.values)
        for node in graph.nodes where !(node.op is Input) && !foldedAway.contains(node.id) {
            let values: [[Float]]
            if let bn = folded[node.id] {
                let (weight, bias) = Self.fold(node, graph.nodes[bn], store: store)
                values = [weight, bias]
                tensor[node.id] = graph.nodes[bn].name   // the conv writes the batch norm's value
                tensor[bn] = graph.nodes[bn].name
            } else {
                values = node.parameters.map { Array(store.value("\(node.name).\($0.name)")) }
            }
            var writer = NodeWriter(node: node, inputs: node.inputs.map { tensor[$0] }, output: tensor[node.id], parameterValues: values)
            node.op.exportONNX(node, to: &writer)
            operators += writer.operators
            initializers += writer.initializers
        }
    }

    /// Collects what one node's op writes.
    struct NodeWriter: ONNXWriter {
        let node: Node
        let inputs: [String]
        let output: String
        let parameterValues: [[Float]]
        var operators: [Operator] = []
        var initializers: [Initializer] = []

        mutating func constant(_ suffix: String, dims: [Int], values: [Float]) -> String {
            let name = "\(node.name).\(suffix)"
            initializers.append(Initializer(name: name, dims: dims, values: values))
            return name
        }

        mutating func op(_ type: String, _ inputs: [String], _ attributes: [(String, ONNXAttribute)], intermediate: String?) -> String {
            let name = intermediate.map { "\(node.name).\($0)" } ?? node.name
            let written = intermediate.map { _ in name } ?? output
            operators.append(Operator(type: type, name: name, inputs: inputs, output: written, attributes: attributes))
            return written
        }
    }

    /// Convolutions whose batch norm folds into them (`ProgramPass.foldBatchNorm`'s rule): conv → bn.
    static func foldedBatchNorms(_ graph: Graph) -> [Node.ID: Node.ID] {
        var folded: [Node.ID: Node.ID] = [:]
        for step in Program(graph: graph).applying(.foldBatchNorm).steps {
            if let bn = step.foldedBatchNorm { folded[step.node] = bn }
        }
        return folded
    }

    /// The conv's weight and bias with `bn` folded into them, as the runtime folds them (`foldBatchNorm`).
    static func fold(_ conv: Node, _ bn: Node, store: ParameterStore) -> (weight: [Float], bias: [Float]) {
        guard let c = conv.op as? Conv, let b = bn.op as? BatchNorm else { preconditionFailure("folding \(bn.op.kindName) into \(conv.op.kindName)") }
        func p(_ n: Node, _ k: Int) -> UnsafeBufferPointer<Float> { UnsafeBufferPointer(store.value("\(n.name).\(n.parameters[k].name)")) }
        var weight = [Float](repeating: 0, count: conv.parameters[0].elementCount), bias = [Float](repeating: 0, count: c.outChannels)
        weight.withUnsafeMutableBufferPointer { w in
            bias.withUnsafeMutableBufferPointer { bias in
                foldBatchNorm(weight: p(conv, 0), bias: c.bias ? p(conv, 1) : nil, statistics: (p(bn, 0), p(bn, 1), p(bn, 2), p(bn, 3)),
                              eps: b.eps, into: (w, bias))
            }
        }
        return (weight, bias)
    }

    /// The serialized ModelProto.
    public func encoded(producerVersion: String) -> [UInt8] {
        var model = ProtobufWriter()
        model.int(1, Self.irVersion)                       // ir_version
        model.string(2, "netc")                            // producer_name
        model.string(3, producerVersion)                   // producer_version
        model.message(7) { g in                            // graph
            for op in operators {
                g.message(1) { n in                        // node
                    for i in op.inputs { n.string(1, i) }
                    n.string(2, op.output)
                    n.string(3, op.name)
                    n.string(4, op.type)
                    for (name, value) in op.attributes {
                        n.message(5) { a in                // attribute
                            a.string(1, name)
                            switch value {
                            case .float(let f): a.float(2, f); a.int(20, 1)     // FLOAT
                            case .int(let i): a.int(3, i); a.int(20, 2)         // INT
                            case .ints(let v): a.ints(8, v); a.int(20, 7)       // INTS
                            }
                        }
                    }
                }
            }
            g.string(2, graph.name)                        // name
            for t in initializers {
                g.message(5) { p in                        // initializer
                    p.ints(1, t.dims)                      // dims
                    p.int(2, 1)                            // data_type FLOAT
                    p.string(8, t.name)
                    var raw = [UInt8]()
                    raw.reserveCapacity(4 * t.values.count)
                    for v in t.values { withUnsafeBytes(of: v.bitPattern.littleEndian) { raw.append(contentsOf: $0) } }
                    p.bytes(9, raw)                        // raw_data, little-endian
                }
            }
            g.message(11) { valueInfo(&$0, "input", graph.inputShape) }
            g.message(12) { valueInfo(&$0, tensor[graph.output], graph.outputShape) }
        }
        model.message(8) { o in                            // opset_import
            o.string(1, "")
            o.int(2, Self.opset)
        }
        return model.bytes
    }

    /// A float tensor `[batch, dims...]` with a symbolic batch axis.
    private func valueInfo(_ v: inout ProtobufWriter, _ name: String, _ shape: Shape) {
        v.string(1, name)
        v.message(2) { type in
            type.message(1) { tensorType in
                tensorType.int(1, 1)                       // elem_type FLOAT
                tensorType.message(2) { s in
                    s.message(1) { $0.string(2, "batch") }
                    for d in shape.dims { s.message(1) { $0.int(1, d) } }
                }
            }
        }
    }
}
