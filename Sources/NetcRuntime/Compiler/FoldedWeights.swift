import NetcIR

/// The weights and biases of every conv that absorbed a batch norm (`ProgramPass.foldBatchNorm`),
/// computed from the parameter store and recomputed only when the store has changed since
/// (its `generation`), so a batch-1 forward does not refold 11 M weights each time.
final class FoldedWeights {
    typealias Folded = (weight: UnsafeMutableBufferPointer<Float>, bias: UnsafeMutableBufferPointer<Float>)
    /// Per step of the program it was made for: the folded weight and bias, or nil for a step
    /// that folds nothing.
    private(set) var ofStep: [Folded?]
    private let storage: UnsafeMutableBufferPointer<Float>
    private var generation = -1

    init(program: Program) {
        let nodes = program.graph.nodes
        var total = 0
        let counts: [(Int, Int)?] = program.steps.map { step in
            guard step.foldedBatchNorm != nil, case .conv(let c) = nodes[step.node].op else { return nil }
            let w = nodes[step.node].parameters[0].elementCount
            defer { total += ((w + 15) & ~15) + ((c.outChannels + 15) & ~15) }
            return (w, c.outChannels)
        }
        let storage = UnsafeMutableBufferPointer<Float>.allocate(capacity: max(total, 16))
        storage.initialize(repeating: 0)
        self.storage = storage
        var offset = 0
        ofStep = counts.map { count in
            guard let (w, c) = count else { return nil }
            let weight = UnsafeMutableBufferPointer(rebasing: storage[offset..<offset + w])
            offset += (w + 15) & ~15
            let bias = UnsafeMutableBufferPointer(rebasing: storage[offset..<offset + c])
            offset += (c + 15) & ~15
            return (weight, bias)
        }
    }

    deinit { storage.deallocate() }

    /// Refolds from `parameters` (each node's, in op order) unless the store is unchanged
    /// (`foldBatchNorm`).
    func refresh(_ program: Program, parameters: [[UnsafeMutableBufferPointer<Float>]], generation: Int) {
        guard generation != self.generation else { return }
        self.generation = generation
        for (k, step) in program.steps.enumerated() {
            guard let folded = ofStep[k], let bn = step.foldedBatchNorm,
                  case .conv(let c) = program.graph.nodes[step.node].op,
                  case .batchNorm(let b) = program.graph.nodes[bn].op else { continue }
            let p = parameters[bn]
            foldBatchNorm(weight: UnsafeBufferPointer(parameters[step.node][0]),
                          bias: c.bias ? UnsafeBufferPointer(parameters[step.node][1]) : nil,
                          statistics: (UnsafeBufferPointer(p[0]), UnsafeBufferPointer(p[1]), UnsafeBufferPointer(p[2]), UnsafeBufferPointer(p[3])),
                          eps: b.eps, into: folded)
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
