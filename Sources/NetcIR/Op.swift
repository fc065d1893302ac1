/// Every operation the IR knows. Switches over `Op` are exhaustive and have no `default:`,
/// so adding a case makes the compiler list each place to update: shape inference, cost,
/// forward, backward, export.
public enum Op: Hashable, Sendable {
    /// The network's input; exactly one per graph.
    case input
    case conv(Conv)
    case batchNorm(BatchNorm)
    case relu
    /// Sigmoid, SiLU, ReLU6 and the other elementwise activations.
    case activation(Activation)
    /// Zeroes each value with probability `p` in training and scales the rest by 1/(1-p)
    /// (PyTorch's Dropout); the identity in evaluation.
    case dropout(p: Double)
    case maxPool(Pool)
    case avgPool(Pool)
    case globalAvgPool
    case flatten
    case linear(Linear)
    /// Elementwise sum of two equally shaped inputs: the residual join.
    case add
    /// Elementwise product of two inputs: equally shaped, or a CxHxW map and a Cx1x1 per-channel
    /// scale in either order (squeeze-and-excitation's gate).
    case mul
    /// Two or more inputs of equal height and width stacked along channels, in order (Inception's join).
    case concat

    /// Whether the op joins several tensors (`add`, `mul`, `concat`): written with `from:` in a
    /// spec, and a function call rather than a module in PyTorch, so summaries leave it out.
    public var isJoin: Bool {
        switch self {
        case .add, .mul, .concat: true
        case .input, .conv, .batchNorm, .relu, .activation, .dropout, .maxPool, .avgPool, .globalAvgPool, .flatten, .linear: false
        }
    }

    public struct Conv: Hashable, Sendable {
        public var outChannels: Int
        public var kernel: Window
        public var groups: Int
        public var bias: Bool
        public init(outChannels: Int, kernel: Window, groups: Int = 1, bias: Bool = true) {
            self.outChannels = outChannels
            self.kernel = kernel
            self.groups = groups
            self.bias = bias
        }
    }

    public struct BatchNorm: Hashable, Sendable {
        public var eps: Double
        /// PyTorch's convention: `running = (1 - momentum) * running + momentum * batch`.
        public var momentum: Double
        public init(eps: Double = 1e-5, momentum: Double = 0.1) {
            self.eps = eps
            self.momentum = momentum
        }
    }

    public struct Pool: Hashable, Sendable {
        public var window: Window
        public init(window: Window) { self.window = window }
    }

    public struct Linear: Hashable, Sendable {
        public var outFeatures: Int
        public var bias: Bool
        public init(outFeatures: Int, bias: Bool = true) {
            self.outFeatures = outFeatures
            self.bias = bias
        }
    }

    /// A sliding window: size, stride and zero padding, each per axis (height, width).
    public struct Window: Hashable, Sendable {
        public var sizeH, sizeW, strideH, strideW, padH, padW: Int

        public init(size: Int, stride: Int = 1, pad: Int = 0) {
            self.init(sizeH: size, sizeW: size, strideH: stride, strideW: stride, padH: pad, padW: pad)
        }

        public init(sizeH: Int, sizeW: Int, strideH: Int, strideW: Int, padH: Int, padW: Int) {
            self.sizeH = sizeH; self.sizeW = sizeW
            self.strideH = strideH; self.strideW = strideW
            self.padH = padH; self.padW = padW
        }

        /// Height and width of the window, its stride and its padding.
        public var sizes: [Int] { [sizeH, sizeW] }
        public var strides: [Int] { [strideH, strideW] }
        public var pads: [Int] { [padH, padW] }

        /// Output extent along one axis, as PyTorch computes it (floor mode).
        public static func extent(_ input: Int, size: Int, stride: Int, pad: Int) -> Int {
            let span = input + 2 * pad - size
            // A window larger than the padded input fits nowhere (Swift's `/` would round -2/3 up to 0).
            return span < 0 ? 0 : span / stride + 1
        }

        public func outputSize(height: Int, width: Int) -> (h: Int, w: Int) {
            (Self.extent(height, size: sizeH, stride: strideH, pad: padH),
             Self.extent(width, size: sizeW, stride: strideW, pad: padW))
        }

        /// `3x3/2` or `7x7/2 pad 3`, for messages and summaries.
        public var description: String {
            let size = sizeH == sizeW ? "\(sizeH)x\(sizeH)" : "\(sizeH)x\(sizeW)"
            let stride = strideH == strideW ? (strideH == 1 ? "" : "/\(strideH)") : "/(\(strideH),\(strideW))"
            return size + stride
        }
    }

    /// The name torchinfo would print for the module (`Conv2d`, `BatchNorm2d`, ...).
    public var kindName: String {
        switch self {
        case .input: "Input"
        case .conv: "Conv2d"
        case .batchNorm: "BatchNorm2d"
        case .relu: "ReLU"
        case .activation(let a): a.torchName
        case .dropout: "Dropout"
        case .maxPool: "MaxPool2d"
        case .avgPool: "AvgPool2d"
        case .globalAvgPool: "AdaptiveAvgPool2d"
        case .flatten: "Flatten"
        case .linear: "Linear"
        case .add: "Add"
        case .mul: "Mul"
        case .concat: "Concat"
        }
    }
}
