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
