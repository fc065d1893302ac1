/// A tensor an op owns: learned weights, or state such as batch-norm running statistics.
/// Graph nodes only describe parameters; their values live in the runtime's parameter store.
public struct ParameterSpec: Hashable, Sendable {
    public enum Role: Hashable, Sendable {
        /// Learned by gradient descent.
        case trainable
        /// Updated by the forward pass in training (running statistics), saved with the model.
        case buffer
    }
    /// Name within its op, as PyTorch names it (`weight`, `bias`, `running_mean`, `running_var`).
    public var name: String
    public var shape: [Int]
    public var role: Role

    public var elementCount: Int { shape.reduce(1, *) }
}

extension Op {
    /// The parameters the op owns, given its input shape; the same layout PyTorch uses, so
    /// checkpoints map one-to-one onto `state_dict` entries.
    public func parameters(input: Shape) -> [ParameterSpec] {
        switch self {
        case .conv(let c):
            var p = [ParameterSpec(name: "weight", shape: [c.outChannels, input.channels / c.groups,
                                                           c.kernel.sizeH, c.kernel.sizeW], role: .trainable)]
            if c.bias { p.append(ParameterSpec(name: "bias", shape: [c.outChannels], role: .trainable)) }
            return p
        case .batchNorm:
            let c = input.channels
            return [ParameterSpec(name: "weight", shape: [c], role: .trainable),
                    ParameterSpec(name: "bias", shape: [c], role: .trainable),
                    ParameterSpec(name: "running_mean", shape: [c], role: .buffer),
                    ParameterSpec(name: "running_var", shape: [c], role: .buffer)]
        case .linear(let l):
            var p = [ParameterSpec(name: "weight", shape: [l.outFeatures, input.elementCount], role: .trainable)]
            if l.bias { p.append(ParameterSpec(name: "bias", shape: [l.outFeatures], role: .trainable)) }
            return p
        case .input, .relu, .activation, .dropout, .maxPool, .avgPool, .globalAvgPool, .flatten, .add, .mul, .concat:
            return []
        }
    }
}
