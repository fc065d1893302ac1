import NetcIR
import NetcKernels
import NetcRuntime

/// A deliberately plain evaluator: the graph in Double with NetcKernels' `Reference` twins
/// (direct convolution, textbook batch norm), fresh arrays for every tensor and gradients summed
/// per consumer. It shares no code with the interpreter's plan, aliasing or accumulation flags.
struct ReferenceEvaluator {
    let graph: Graph
    var parameters: [String: [Double]]

    init(graph: Graph, store: ParameterStore) {
        self.graph = graph
        parameters = store.snapshot().mapValues { $0.map(Double.init) }
    }

    func p(_ node: Node, _ k: Int) -> [Double] { parameters["\(node.name).\(node.parameters[k].name)"]! }

    /// Training-mode forward + loss + backward. Returns logits `[K, N]`, the loss and the
    /// parameter gradients by name.
    func run(inputCNHW x0: [Double], n: Int, labels: [Int32]) -> (logits: [Double], loss: Double, gradients: [String: [Double]]) {
        var v = [[Double]](repeating: [], count: graph.nodes.count)
        var maxIdx = [Int: [Int32]]()
        for node in graph.nodes {
            func x(_ k: Int = 0) -> [Double] { v[node.inputs[k]] }
            let s = node.inputs.isEmpty ? node.shape : graph.nodes[node.inputs[0]].shape
            switch node.op {
            case is Input: v[node.id] = x0
            case let c as Conv:
                v[node.id] = Reference.convForward(geometry(c, s, n), x: x(), weight: p(node, 0), bias: c.bias ? p(node, 1) : nil)
            case let b as BatchNorm:
                v[node.id] = Reference.batchNormTraining(x: x(), channels: s.channels, perChannel: n * s.height * s.width,
                                                         gamma: p(node, 0), beta: p(node, 1), epsilon: b.eps).y
            case is ReLU: v[node.id] = Reference.relu(x())
            case let a as ActivationLayer: v[node.id] = Reference.activation(a.kernel, x())
            case is Dropout: preconditionFailure("the reference evaluates networks without dropout (GradientTests checks dropout)")
            case let pool as MaxPool:
                let r = Reference.maxPool(pg(pool, s, n), x: x())
                v[node.id] = r.y; maxIdx[node.id] = r.indices
            case let pool as AvgPool: v[node.id] = Reference.avgPool(pg(pool, s, n), x: x())
            case is GlobalAvgPool: v[node.id] = Reference.globalAvgPool(x: x(), planes: s.channels * n, spatial: s.height * s.width)
            case is Flatten: v[node.id] = Reference.flatten(x: x(), channels: s.channels, n: n, spatial: s.height * s.width)
            case let l as Linear:
                v[node.id] = Reference.linearForward(x: x(), weight: p(node, 0), bias: l.bias ? p(node, 1) : nil,
                                                     inFeatures: s.elementCount, outFeatures: l.outFeatures, n: n)
            case is Add: v[node.id] = zip(x(0), x(1)).map(+)
            case is Mul:
                // A map times a per-(channel, sample) scale in CNHW, or two equal shapes.
                let (a, b) = (x(0), x(1)), big = a.count >= b.count ? a : b, small = a.count >= b.count ? b : a
                let spread = big.count / small.count
                v[node.id] = big.indices.map { big[$0] * small[$0 / spread] }
            case is Concat: v[node.id] = node.inputs.flatMap { v[$0] }
            default: preconditionFailure("the reference evaluator has no \(node.op.kindName)")
            }
        }
        let k = graph.outputShape.elementCount
        let ce = Reference.softmaxCrossEntropy(logits: v[graph.output], labels: labels, classes: k, n: n)
        var g = [[Double]?](repeating: nil, count: graph.nodes.count)
        g[graph.output] = ce.dLogits
        var grads: [String: [Double]] = [:]
        func add(_ i: Int, _ d: [Double]) { g[i] = g[i].map { zip($0, d).map(+) } ?? d }
        for node in graph.nodes.reversed() {
            guard let dy = g[node.id] else { continue }
            let s = node.inputs.isEmpty ? node.shape : graph.nodes[node.inputs[0]].shape
            let name = node.name
            func x(_ k: Int = 0) -> [Double] { v[node.inputs[k]] }
            switch node.op {
            case is Input: break
            case let c as Conv:
                let r = Reference.convBackward(geometry(c, s, n), x: x(), weight: p(node, 0), dy: dy)
                grads["\(name).weight"] = r.dWeight
                if c.bias { grads["\(name).bias"] = r.dBias }
                add(node.inputs[0], r.dx)
            case let b as BatchNorm:
                let r = Reference.batchNormBackward(x: x(), dy: dy, channels: s.channels, perChannel: n * s.height * s.width,
                                                    gamma: p(node, 0), epsilon: b.eps)
                grads["\(name).weight"] = r.dGamma; grads["\(name).bias"] = r.dBeta
                add(node.inputs[0], r.dx)
            case is ReLU: add(node.inputs[0], zip(x(), dy).map { $0 > 0 ? $1 : 0 })
            case let a as ActivationLayer: add(node.inputs[0], Reference.activationBackward(a.kernel, x: x(), dy: dy))
            case is Dropout: preconditionFailure("the reference evaluates networks without dropout")
            case let pool as MaxPool:
                let geo = pg(pool, s, n), idx = maxIdx[node.id]!
                var dx = [Double](repeating: 0, count: geo.inputCount)
                let outPlane = geo.outH * geo.outW
                for o in dy.indices { dx[(o / outPlane) * geo.height * geo.width + Int(idx[o])] += dy[o] }
                add(node.inputs[0], dx)
            case let pool as AvgPool:
                let geo = pg(pool, s, n)
                var dx = [Double](repeating: 0, count: geo.inputCount)
                for pl in 0..<geo.planes { for oh in 0..<geo.outH { for ow in 0..<geo.outW {
                    let d = dy[(pl * geo.outH + oh) * geo.outW + ow] / Double(geo.kernelH * geo.kernelW)
                    for a in 0..<geo.kernelH { for b in 0..<geo.kernelW {
                        let h = oh * geo.strideH - geo.padH + a, w = ow * geo.strideW - geo.padW + b
                        if h >= 0 && h < geo.height && w >= 0 && w < geo.width { dx[(pl * geo.height + h) * geo.width + w] += d }
                    } }
                } } }
                add(node.inputs[0], dx)
            case is GlobalAvgPool:
                let sp = s.height * s.width
                add(node.inputs[0], (0..<(s.channels * n * sp)).map { dy[$0 / sp] / Double(sp) })
            case is Flatten:
                let sp = s.height * s.width
                var dx = [Double](repeating: 0, count: dy.count)
                for c in 0..<s.channels { for i in 0..<n { for q in 0..<sp { dx[(c * n + i) * sp + q] = dy[(c * sp + q) * n + i] } } }
                add(node.inputs[0], dx)
            case let l as Linear:
                let r = Reference.linearBackward(x: x(), weight: p(node, 0), dy: dy, inFeatures: s.elementCount,
                                                 outFeatures: l.outFeatures, n: n)
                grads["\(name).weight"] = r.dWeight
                if l.bias { grads["\(name).bias"] = r.dBias }
                add(node.inputs[0], r.dx)
            case is Add:
                add(node.inputs[0], dy); add(node.inputs[1], dy)
            case is Mul:
                let (a, b) = (x(0), x(1)), bigFirst = a.count >= b.count
                let big = bigFirst ? a : b, small = bigFirst ? b : a, spread = big.count / small.count
                var dSmall = [Double](repeating: 0, count: small.count)
                for i in big.indices { dSmall[i / spread] += dy[i] * big[i] }
                let dBig = big.indices.map { dy[$0] * small[$0 / spread] }
                add(node.inputs[bigFirst ? 0 : 1], dBig); add(node.inputs[bigFirst ? 1 : 0], dSmall)
            case is Concat:
                var offset = 0
                for input in node.inputs {
                    let count = v[input].count
                    add(input, Array(dy[offset..<(offset + count)]))
                    offset += count
                }
            default: preconditionFailure("the reference evaluator has no \(node.op.kindName)")
            }
        }
        return (v[graph.output], ce.loss, grads)
    }

    func geometry(_ c: Conv, _ s: Shape, _ n: Int) -> ConvGeometry {
        ConvGeometry(n: n, inChannels: s.channels, height: s.height, width: s.width, outChannels: c.outChannels,
                     kernelH: c.kernel.sizeH, kernelW: c.kernel.sizeW, strideH: c.kernel.strideH, strideW: c.kernel.strideW,
                     padH: c.kernel.padH, padW: c.kernel.padW, groups: c.groups)
    }

    func pg(_ p: some SlidingPool, _ s: Shape, _ n: Int) -> PoolGeometry {
        PoolGeometry(planes: s.channels * n, height: s.height, width: s.width, kernelH: p.pool.sizeH, kernelW: p.pool.sizeW,
                     strideH: p.pool.strideH, strideW: p.pool.strideW, padH: p.pool.padH, padW: p.pool.padW)
    }
}
