import NetcIR

/// How weights are drawn when a model is created.
public enum InitScheme: String, Sendable, CaseIterable {
    /// d2l's `init_cnn`: Xavier-uniform weights for conv and linear layers; biases keep
    /// PyTorch's default `U(-1/√fan_in, 1/√fan_in)`.
    case xavier
    /// torchvision's ResNet init: conv weights `N(0, 2/fan_out)` (Kaiming normal, fan-out
    /// mode, ReLU gain); linear layers and all biases keep PyTorch's defaults.
    case kaiming
    /// PyTorch's module defaults everywhere: weights and biases `U(-1/√fan_in, 1/√fan_in)`
    /// (what `kaiming_uniform_(a=√5)` amounts to).
    case pytorch
}

extension ParameterStore {
    /// (Re)initialises every parameter from `seed`. Batch norm starts as the identity
    /// (weight 1, bias 0, running mean 0, running variance 1) under every scheme.
    /// Parameters are filled in stable store order from one generator, so the same seed
    /// gives the same model on every run.
    public func initialize(_ scheme: InitScheme, seed: UInt64, graph: Graph) {
        var rng = SplitMix64(seed: seed)
        for (i, e) in entries.enumerated() {
            let v = value(at: i)
            let node = graph.nodes[e.node]
            switch node.op {
            case .conv, .linear:
                // PyTorch's _calculate_fan_in_and_fan_out on [out, in/groups, kh, kw] or [out, in].
                let w = node.parameters[0].shape
                let receptive = w.dropFirst(2).reduce(1, *)
                let fanIn = w[1] * receptive, fanOut = w[0] * receptive
                let defaultBound = 1 / Double(fanIn).squareRoot()
                if e.index == 0 {
                    let isConv: Bool
                    switch node.op {
                    case .conv: isConv = true
                    case .input, .batchNorm, .relu, .activation, .dropout, .maxPool, .avgPool, .globalAvgPool, .flatten, .linear, .add, .mul, .concat:
                        isConv = false
                    }
                    switch scheme {
                    case .xavier:
                        let bound = (6 / Double(fanIn + fanOut)).squareRoot()
                        for j in v.indices { v[j] = Float(rng.uniform(-bound, bound)) }
                    case .kaiming where isConv:
                        let std = (2 / Double(fanOut)).squareRoot()
                        for j in v.indices { v[j] = Float(std * rng.normal()) }
                    case .kaiming, .pytorch:
                        for j in v.indices { v[j] = Float(rng.uniform(-defaultBound, defaultBound)) }
                    }
                } else {
                    for j in v.indices { v[j] = Float(rng.uniform(-defaultBound, defaultBound)) }
                }
            case .batchNorm:
                // weight, bias, running_mean, running_var
                v.update(repeating: e.name.hasSuffix(".weight") || e.name.hasSuffix(".running_var") ? 1 : 0)
            case .input, .relu, .activation, .dropout, .maxPool, .avgPool, .globalAvgPool, .flatten, .add, .mul, .concat:
                preconditionFailure("\(node.op.kindName) has no parameters")
            }
        }
        noteChange()
    }
}
