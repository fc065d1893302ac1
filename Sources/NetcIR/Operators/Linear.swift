import NetcKernels

/// Fully connected layer, PyTorch's Linear.
public struct Linear: Operator {
    public var outFeatures: Int
    public var bias: Bool

    public init(outFeatures: Int, bias: Bool = true) {
        self.outFeatures = outFeatures
        self.bias = bias
    }

    public static let layers = [LayerDeclaration("linear", prefix: "fc", "fully connected layer, PyTorch's Linear", attributes: [
        LayerAttribute("out", required: true, "output features"),
        LayerAttribute("bias", default: "true", "whether the layer adds a bias"),
    ])]

    public static func make(_ key: String, _ a: inout some LayerAttributeReader) -> Linear? {
        let out = a.int("out", min: 1, default: nil), bias = a.bool("bias", default: true)
        guard let out, let bias else { return nil }
        return Linear(outFeatures: out, bias: bias)
    }

    public var kindName: String { "Linear" }
    public var drawingStyle: DrawingStyle { .weighted }

    public func outputShape(_ inputs: [Shape]) throws(ShapeError) -> Shape {
        guard inputs[0].dims.count == 1 else {
            throw ShapeError("linear takes a vector, got a \(inputs[0]) feature map",
                             help: "put 'flatten' (or 'global_avgpool' and 'flatten') before it")
        }
        return .vector(outFeatures)
    }

    public func parameters(input: Shape) -> [ParameterSpec] {
        var p = [ParameterSpec(name: "weight", shape: [outFeatures, input.elementCount], role: .trainable)]
        if bias { p.append(ParameterSpec(name: "bias", shape: [outFeatures], role: .trainable)) }
        return p
    }

    public func addWork(to c: inout Cost, of node: Node) {
        c.torchinfoMACs = c.parameters
        c.macs = node.parameters[0].elementCount
        c.activations = node.shape.elementCount
        c.pyclsFlops = c.macs + (bias ? outFeatures : 0)
    }
}

// MARK: Running

extension Linear {
    public var memoryNeeds: MemoryNeeds { MemoryNeeds(backwardReadsInputs: true) }

    public func forward(_ c: ForwardContext) {
        linearForward(x: c.input(), weight: c.parameter(0), bias: bias ? c.parameter(1) : nil, y: c.output,
                      inFeatures: c.inputShape().elementCount, outFeatures: outFeatures, n: c.n)
    }

    public func backward(_ c: BackwardContext) {
        let inFeatures = c.inputShape().elementCount
        linearBackwardWeights(x: c.input(), dy: c.dy, dWeight: c.parameterGradients[0], dBias: bias ? c.parameterGradients[1] : nil,
                              inFeatures: inFeatures, outFeatures: outFeatures, n: c.n)
        if c.wants() {
            linearBackwardData(dy: c.dy, weight: c.parameter(0), dx: c.inputGradient(),
                               inFeatures: inFeatures, outFeatures: outFeatures, n: c.n, accumulate: c.accumulate[0])
        }
    }

    public func initialize(_ index: Int, of node: Node, _ values: UnsafeMutableBufferPointer<Float>, scheme: InitScheme,
                           random: inout SplitMix64) {
        scheme.fillWeightedLayer(index, values, weightShape: node.parameters[0].shape, isConv: false, random: &random)
    }
}

// MARK: Export

extension Linear {
    public func exportONNX(_ node: Node, to out: inout some ONNXWriter) {
        let p = out.parameterValues
        let weight = out.constant("weight", dims: node.parameters[0].shape, values: p[0])
        let bias = p.count > 1 ? [out.constant("bias", dims: [outFeatures], values: p[1])] : []
        out.op("Gemm", out.inputs + [weight] + bias, [("transB", .int(1))])
    }
}
