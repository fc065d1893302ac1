import NetcIR
import NetcKernels

/// The weights and biases of every conv that absorbed a batch norm (`ProgramPass.foldBatchNorm`),
/// computed from the parameter store and recomputed only when the store has changed since
/// (its `generation`), so a batch-1 forward does not refold 11 M weights each time; and where the
/// conv's algorithm takes its weights prepared at the program's batch
/// (`ConvAlgorithm.preparedWeightCount`: packed, or Winograd-transformed), the folded weights so prepared.
final class FoldedWeights {
    struct Folded {
        let weight: UnsafeMutableBufferPointer<Float>
        let bias: UnsafeMutableBufferPointer<Float>
        /// The folded weights prepared for the conv's algorithm at the program's batch.
        let prepared: (weights: UnsafeMutableBufferPointer<Float>, algorithm: ConvAlgorithm, geometry: ConvGeometry)?
        /// Weight and bias, as the conv's parameters.
        let parameters: [UnsafeMutableBufferPointer<Float>]

        init(weight: UnsafeMutableBufferPointer<Float>, bias: UnsafeMutableBufferPointer<Float>,
             prepared: (weights: UnsafeMutableBufferPointer<Float>, algorithm: ConvAlgorithm, geometry: ConvGeometry)?) {
            (self.weight, self.bias, self.prepared, parameters) = (weight, bias, prepared, [weight, bias])
        }
    }
    /// Per step of the program it was made for: the folded weight and bias, or nil for a step
    /// that folds nothing.
    private(set) var ofStep: [Folded?]
    private let storage: UnsafeMutableBufferPointer<Float>
    private var generation = -1

    init(program: Program) {
        let nodes = program.graph.nodes
        func rounded(_ count: Int) -> Int { (count + 15) & ~15 }
        var total = 0
        let counts = program.steps.map { step -> (weight: Int, bias: Int, prepared: (count: Int, geometry: ConvGeometry)?)? in
            guard step.foldedBatchNorm != nil, let c = nodes[step.node].op as? Conv else { return nil }
            let g = c.geometry(input: nodes[nodes[step.node].inputs[0]].shape, n: program.batch)
            let count = (weight: nodes[step.node].parameters[0].elementCount, bias: c.outChannels,
                         prepared: step.algorithm!.preparedWeightCount(g).map { (count: $0, geometry: g) })
            total += rounded(count.weight) + rounded(count.bias) + rounded(count.prepared?.count ?? 0)
            return count
        }
        let storage = allocateLargeBuffer(max(total, 16))
        storage.initialize(repeating: 0)
        self.storage = storage
        var offset = 0
        func take(_ count: Int) -> UnsafeMutableBufferPointer<Float> {
            defer { offset += rounded(count) }
            return UnsafeMutableBufferPointer(rebasing: storage[offset..<offset + count])
        }
        ofStep = zip(counts, program.steps).map { count, step in
            count.map { Folded(weight: take($0.weight), bias: take($0.bias),
                               prepared: $0.prepared.map { (take($0.count), step.algorithm!, $0.geometry) }) }
        }
    }

    deinit { deallocateLargeBuffer(storage) }

    /// Refolds (and prepares again) from `parameters` (each node's, in op order) unless the store is
    /// unchanged (`foldBatchNorm`).
    func refresh(_ program: Program, parameters: [[UnsafeMutableBufferPointer<Float>]], generation: Int) {
        guard generation != self.generation else { return }
        self.generation = generation
        for (k, step) in program.steps.enumerated() {
            guard let folded = ofStep[k], let bn = step.foldedBatchNorm,
                  let c = program.graph.nodes[step.node].op as? Conv,
                  let b = program.graph.nodes[bn].op as? BatchNorm else { continue }
            let p = parameters[bn]
            foldBatchNorm(weight: UnsafeBufferPointer(parameters[step.node][0]),
                          bias: c.bias ? UnsafeBufferPointer(parameters[step.node][1]) : nil,
                          statistics: (UnsafeBufferPointer(p[0]), UnsafeBufferPointer(p[1]), UnsafeBufferPointer(p[2]), UnsafeBufferPointer(p[3])),
                          eps: b.eps, into: (folded.weight, folded.bias))
            if let (prepared, algorithm, g) = folded.prepared {
                algorithm.prepareWeights(g, weight: folded.weight.baseAddress!, into: prepared.baseAddress!)
            }
        }
    }
}

/// A batch norm (`gamma, beta, mean, variance`, one per output channel) folded into the conv
/// before it, in Double like PyTorch's `fuse_conv_bn_weights` up to rounding: with
/// `s = gamma / sqrt(var + eps)`, `w' = w * s` per output channel and `b' = (b - mean) * s + beta`.
public func foldBatchNorm(weight: UnsafeBufferPointer<Float>, bias: UnsafeBufferPointer<Float>?,
                          statistics: (gamma: UnsafeBufferPointer<Float>, beta: UnsafeBufferPointer<Float>,
                                       mean: UnsafeBufferPointer<Float>, variance: UnsafeBufferPointer<Float>),
                          eps: Double, into folded: (weight: UnsafeMutableBufferPointer<Float>, bias: UnsafeMutableBufferPointer<Float>)) {
    let (gamma, beta, mean, variance) = statistics
    let channels = gamma.count, perChannel = weight.count / channels
    precondition(folded.weight.count >= weight.count && folded.bias.count >= channels, "foldBatchNorm: output too small")
    for o in 0..<channels {
        let s = Double(gamma[o]) / (Double(variance[o]) + eps).squareRoot()
        for i in o * perChannel ..< (o + 1) * perChannel { folded.weight[i] = Float(Double(weight[i]) * s) }
        folded.bias[o] = Float((Double(bias?[o] ?? 0) - Double(mean[o])) * s + Double(beta[o]))
    }
}
