/// The elementwise activations beside ReLU (which the compiler fuses into the layers before it).
/// A new one is a case here, with its spec key, PyTorch name and description, and its formula
/// in `NetcKernels.ActivationFunction`; the spec language, shape inference, cost and summary
/// take it from this list.
public enum Activation: String, CaseIterable, Hashable, Sendable {
    case sigmoid
    case silu
    case hardSigmoid = "hard_sigmoid"
    case hardSwish = "hard_swish"
    case relu6

    /// The module torchinfo prints.
    public var torchName: String {
        switch self {
        case .sigmoid: "Sigmoid"
        case .silu: "SiLU"
        case .hardSigmoid: "Hardsigmoid"
        case .hardSwish: "Hardswish"
        case .relu6: "ReLU6"
        }
    }

    /// The name its layers are counted under in a block (`sigmoid1`, `relu6_1`).
    public var namePrefix: String {
        switch self {
        case .sigmoid: "sigmoid"
        case .silu: "silu"
        case .hardSigmoid: "hardsigmoid"
        case .hardSwish: "hardswish"
        case .relu6: "relu6_"
        }
    }

    /// What the spec language's documentation says of it.
    public var doc: String {
        switch self {
        case .sigmoid: "logistic sigmoid, 1 / (1 + exp(-x)) (LeNet's activation)"
        case .silu: "x * sigmoid(x), also called swish (EfficientNet, RegNetY's SE)"
        case .hardSigmoid: "relu6(x + 3) / 6, a piecewise-linear sigmoid (MobileNetV3)"
        case .hardSwish: "x * relu6(x + 3) / 6 (MobileNetV3)"
        case .relu6: "min(max(x, 0), 6) (MobileNetV2)"
        }
    }
}
