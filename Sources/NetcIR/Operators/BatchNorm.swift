import NetcKernels

/// Batch normalisation over channels, PyTorch's BatchNorm2d.
public struct BatchNorm: Operator {
    public var eps: Double
    /// PyTorch's convention: `running = (1 - momentum) * running + momentum * batch`.
    public var momentum: Double

    public init(eps: Double = 1e-5, momentum: Double = 0.1) {
        self.eps = eps
        self.momentum = momentum
    }

    public static let layers = [LayerDeclaration("batchnorm", prefix: "bn", "batch normalisation over channels, PyTorch's BatchNorm2d", attributes: [
        LayerAttribute("eps", default: "defaults.bn_eps", "added to the variance"),
        LayerAttribute("momentum", default: "defaults.bn_momentum", "running-average momentum"),
    ])]

    public static func make(_ key: String, _ a: inout some LayerAttributeReader) -> BatchNorm? {
        let eps = a.number("eps", default: a.defaults.bnEps, .positive,
                           help: "it keeps the division by the standard deviation finite: use a small positive number such as 1e-5")
        let momentum = a.number("momentum", default: a.defaults.bnMomentum, .unit,
                                help: "the running statistics move this fraction of the way to each batch's: use e.g. 0.1, as PyTorch")
        guard let eps, let momentum else { return nil }
        return BatchNorm(eps: eps, momentum: momentum)
    }

    public var kindName: String { "BatchNorm2d" }
    public var drawingStyle: DrawingStyle { .normalization }

    public func outputShape(_ inputs: [Shape]) throws(ShapeError) -> Shape { inputs[0] }

    public func parameters(input: Shape) -> [ParameterSpec] {
        let c = input.channels
        return [ParameterSpec(name: "weight", shape: [c], role: .trainable),
                ParameterSpec(name: "bias", shape: [c], role: .trainable),
                ParameterSpec(name: "running_mean", shape: [c], role: .buffer),
                ParameterSpec(name: "running_var", shape: [c], role: .buffer)]
    }

    public func addWork(to c: inout Cost, of node: Node) { c.torchinfoMACs = c.parameters }
}

// MARK: Running

extension BatchNorm {
    // The backward always writes dx, so its input gets a gradient buffer even where nothing upstream learns.
    public var memoryNeeds: MemoryNeeds { MemoryNeeds(backwardReadsInputs: true, keepsStatistics: true, alwaysWritesInputGradient: true) }
    public func inPlaceInputs(_ node: Node, in graph: Graph) -> [Int] { [0] }
    public var appliesReLU: Bool { true }

    public func forward(_ c: ForwardContext) {
        let s = c.node.shape, m = c.n * s.height * s.width
        if c.training {
            let (mean, invStd) = c.statistics!
            batchNormForwardTraining(x: c.input(), y: c.output, channels: s.channels, perChannel: m,
                                     gamma: c.parameter(0), beta: c.parameter(1), epsilon: Float(eps), momentum: Float(momentum),
                                     runningMean: c.parameters[2], runningVar: c.parameters[3], saveMean: mean, saveInvStd: invStd,
                                     relu: c.relu, across: c.statisticsSum)
        } else {
            batchNormForwardInference(x: c.input(), y: c.output, channels: s.channels, perChannel: m,
                                      gamma: c.parameter(0), beta: c.parameter(1), runningMean: c.parameter(2),
                                      runningVar: c.parameter(3), epsilon: Float(eps), relu: c.relu)
        }
    }

    public func backward(_ c: BackwardContext) {
        let s = c.node.shape
        let (mean, invStd) = c.statistics!
        batchNormBackward(x: c.input(), dy: c.dy, dx: c.inputGradient(), channels: s.channels, perChannel: c.n * s.height * s.width,
                          gamma: c.parameter(0), saveMean: UnsafeBufferPointer(mean), saveInvStd: UnsafeBufferPointer(invStd),
                          dGamma: c.parameterGradients[0], dBeta: c.parameterGradients[1], accumulate: c.accumulate[0],
                          reluBeta: c.relu ? c.parameter(1) : nil, across: c.statisticsSum)
    }

    /// The identity: weight 1, bias 0, running mean 0, running variance 1, under every scheme.
    public func initialize(_ index: Int, of node: Node, _ values: UnsafeMutableBufferPointer<Float>, scheme: InitScheme,
                           random: inout SplitMix64) {
        values.update(repeating: index == 0 || index == 3 ? 1 : 0)
    }
}

// MARK: Export

extension BatchNorm {
    public func exportONNX(_ node: Node, to out: inout some ONNXWriter) {
        let p = out.parameterValues
        let names = node.parameters.indices.map { out.constant(node.parameters[$0].name, dims: [node.shape.channels], values: p[$0]) }
        // ONNX's momentum weighs the running value, PyTorch's the batch's; inference uses neither.
        out.op("BatchNormalization", out.inputs + names, [("epsilon", .float(Float(eps))), ("momentum", .float(Float(1 - momentum)))])
    }
}
