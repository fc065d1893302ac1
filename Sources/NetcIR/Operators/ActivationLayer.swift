import NetcKernels

/// Sigmoid, SiLU, ReLU6 and the other elementwise activations beside ReLU (`Activation` lists
/// them); each is a spec key of its own.
public struct ActivationLayer: Operator {
    public var function: Activation

    public init(_ function: Activation) { self.function = function }

    public static let layers = Activation.allCases.map { LayerDeclaration($0.rawValue, prefix: $0.namePrefix, $0.doc) }

    public static func make(_ key: String, _ a: inout some LayerAttributeReader) -> ActivationLayer? {
        Activation(rawValue: key).map(ActivationLayer.init)
    }

    public var kindName: String { function.torchName }
    public func outputShape(_ inputs: [Shape]) throws(ShapeError) -> Shape { inputs[0] }
}

// MARK: Running

extension ActivationLayer {
    public var memoryNeeds: MemoryNeeds { MemoryNeeds(backwardReadsInputs: true) }
    public func inPlaceInputs(_ node: Node, in graph: Graph) -> [Int] { [0] }
    public func forward(_ c: ForwardContext) { activationForward(kernel, x: c.input(), y: c.output) }
    public func backward(_ c: BackwardContext) {
        if c.wants() { activationBackward(kernel, x: c.input(), dy: c.dy, dx: c.inputGradient(), accumulate: c.accumulate[0]) }
    }

    /// Its formula in the kernels.
    public var kernel: ActivationFunction {
        switch function {
        case .sigmoid: .sigmoid
        case .silu: .silu
        case .hardSigmoid: .hardSigmoid
        case .hardSwish: .hardSwish
        case .relu6: .relu6
        }
    }
}

// MARK: Export

extension ActivationLayer {
    public func exportONNX(_ node: Node, to out: inout some ONNXWriter) {
        let x = out.inputs
        switch function {
        case .sigmoid: out.op("Sigmoid", x)
        case .hardSigmoid: out.op("HardSigmoid", x, [("alpha", .float(1.0 / 6)), ("beta", .float(0.5))])
        case .hardSwish: out.op("HardSwish", x)
        case .relu6:
            let low = out.constant("min", dims: [], values: [0]), high = out.constant("max", dims: [], values: [6])
            out.op("Clip", x + [low, high])
        case .silu:
            let sigmoid = out.op("Sigmoid", x, [], intermediate: "sigmoid")
            out.op("Mul", x + [sigmoid])
        }
    }
}
