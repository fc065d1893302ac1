import NetcKernels

/// 2-D convolution, PyTorch's Conv2d: grouped, strided, zero-padded, with an optional bias.
public struct Conv: Operator {
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

    public static let layers = [LayerDeclaration("conv", "2-D convolution, PyTorch's Conv2d", attributes: [
        LayerAttribute("out", required: true, "output channels"),
        LayerAttribute("kernel", required: true, "square kernel size"),
        LayerAttribute("stride", default: "1", "stride"),
        LayerAttribute("pad", default: "0", "zero padding on each side"),
        LayerAttribute("groups", "number of groups (cardinality, as torchvision's `groups`)"),
        LayerAttribute("group_width", "channels per group (what d2l's ResNeXtBlock calls `groups`); not with `groups`"),
        LayerAttribute("bias", default: "defaults.bias", "whether the convolution adds a bias"),
    ])]

    public static func make(_ key: String, _ a: inout some LayerAttributeReader) -> Conv? {
        let out = a.int("out", min: 1, default: nil), kernel = a.int("kernel", min: 1, default: nil)
        let stride = a.int("stride", min: 1, default: 1), pad = a.int("pad", min: 0, default: 0)
        let bias = a.bool("bias", default: a.defaults.bias)
        let groups = a.groups(outChannels: out)
        guard let out, let kernel, let stride, let pad, let bias, let groups else { return nil }
        return Conv(outChannels: out, kernel: Window(size: kernel, stride: stride, pad: pad), groups: groups, bias: bias)
    }

    public var kindName: String { "Conv2d" }
    public var summaryKind: String { "\(kindName) \(kernel.description)" + (groups > 1 ? " g\(groups)" : "") }
    public var window: (window: Window, groups: Int?)? { (kernel, groups) }
    public var drawingStyle: DrawingStyle { .weighted }

    public func outputShape(_ inputs: [Shape]) throws(ShapeError) -> Shape {
        let x = try ShapeRules.map(inputs[0], for: "conv")
        guard x.channels % groups == 0 else {
            throw ShapeError("conv groups (\(groups)) do not divide its \(x.channels) input channels",
                             help: "choose groups that divide \(x.channels)")
        }
        guard outChannels % groups == 0 else {
            throw ShapeError("conv groups (\(groups)) do not divide its \(outChannels) output channels",
                             help: "choose groups that divide \(outChannels)")
        }
        let (h, w) = try ShapeRules.window(kernel, over: x, "conv \(kernel.description)")
        return .map(outChannels, h, w)
    }

    public func parameters(input: Shape) -> [ParameterSpec] {
        var p = [ParameterSpec(name: "weight", shape: [outChannels, input.channels / groups, kernel.sizeH, kernel.sizeW], role: .trainable)]
        if bias { p.append(ParameterSpec(name: "bias", shape: [outChannels], role: .trainable)) }
        return p
    }

    public func addWork(to c: inout Cost, of node: Node) {
        let positions = node.shape.height * node.shape.width
        c.torchinfoMACs = c.parameters * positions
        c.macs = node.parameters[0].elementCount * positions
        c.activations = node.shape.elementCount
        c.pyclsFlops = c.macs + (bias ? outChannels : 0)
    }
}

// MARK: Running

extension Conv {
    /// The kernels' view of this convolution on a batch of `n` inputs of shape `x`.
    public func geometry(input x: Shape, n: Int) -> ConvGeometry {
        ConvGeometry(n: n, inChannels: x.channels, height: x.height, width: x.width, outChannels: outChannels,
                     kernelH: kernel.sizeH, kernelW: kernel.sizeW, strideH: kernel.strideH,
                     strideW: kernel.strideW, padH: kernel.padH, padW: kernel.padW, groups: groups)
    }

    public var memoryNeeds: MemoryNeeds { MemoryNeeds(backwardReadsInputs: true) }
    public var appliesReLU: Bool { true }

    /// A conv that absorbed a batch norm runs with its folded weight and bias, whatever `bias` says.
    public func forward(_ c: ForwardContext) {
        c.algorithm!.forward(geometry(input: c.inputShape(), n: c.n), x: c.input(), weight: c.parameter(0),
                             bias: c.parameters.count > 1 ? c.parameter(1) : nil, y: c.output, workspace: c.workspace,
                             epilogue: ConvEpilogue(accumulate: c.accumulate, relu: c.relu), prepared: c.prepared)
    }

    public func backward(_ c: BackwardContext) {
        let g = geometry(input: c.inputShape(), n: c.n)
        c.algorithm!.backwardFilter(g, x: c.input(), dy: c.dy, dWeight: c.parameterGradients[0],
                                    dBias: bias ? c.parameterGradients[1] : nil, workspace: c.workspace)
        if c.wants() {
            c.algorithm!.backwardData(g, dy: c.dy, weight: c.parameter(0), dx: c.inputGradient(), workspace: c.workspace,
                                      accumulate: c.accumulate[0])
        }
    }

    public func initialize(_ index: Int, of node: Node, _ values: UnsafeMutableBufferPointer<Float>, scheme: InitScheme,
                           random: inout SplitMix64) {
        scheme.fillWeightedLayer(index, values, weightShape: node.parameters[0].shape, isConv: true, random: &random)
    }
}

// MARK: Export

extension Conv {
    public func exportONNX(_ node: Node, to out: inout some ONNXWriter) {
        let p = out.parameterValues
        let weight = out.constant("weight", dims: node.parameters[0].shape, values: p[0])
        let bias = p.count > 1 ? [out.constant("bias", dims: [outChannels], values: p[1])] : []
        out.op("Conv", out.inputs + [weight] + bias, kernel.onnxAttributes + [("dilations", .ints([1, 1])), ("group", .int(groups))])
    }
}
