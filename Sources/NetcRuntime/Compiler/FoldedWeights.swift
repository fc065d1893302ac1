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

    /// Refolds from `parameters` (each node's, in op order) unless the store is unchanged.
    ///
    /// In Double, like PyTorch's `fuse_conv_bn_weights` up to rounding: with
    /// `s = gamma / sqrt(var + eps)`, `w' = w * s` per output channel and `b' = (b - mean) * s + beta`.
    func refresh(_ program: Program, parameters: [[UnsafeMutableBufferPointer<Float>]], generation: Int) {
        guard generation != self.generation else { return }
        self.generation = generation
        for (k, step) in program.steps.enumerated() {
            guard let folded = ofStep[k], let bn = step.foldedBatchNorm,
                  case .conv(let c) = program.graph.nodes[step.node].op,
                  case .batchNorm(let b) = program.graph.nodes[bn].op else { continue }
            let w = parameters[step.node][0], bias = c.bias ? parameters[step.node][1] : nil
            let p = parameters[bn], (gamma, beta, mean, variance) = (p[0], p[1], p[2], p[3])
            let perChannel = w.count / c.outChannels
            for o in 0..<c.outChannels {
                let s = Double(gamma[o]) / (Double(variance[o]) + b.eps).squareRoot()
                for i in o * perChannel ..< (o + 1) * perChannel { folded.weight[i] = Float(Double(w[i]) * s) }
                folded.bias[o] = Float((Double(bias?[o] ?? 0) - Double(mean[o])) * s + Double(beta[o]))
            }
        }
    }
}
