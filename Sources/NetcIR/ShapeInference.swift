/// Why an op cannot take the shapes it was given. The spec layer turns it into a
/// diagnostic that points at the YAML node the op came from.
public struct ShapeError: Error, Hashable, Sendable {
    public var message: String
    public var help: String?
    public init(_ message: String, help: String? = nil) {
        self.message = message
        self.help = help
    }
}

extension Op {
    /// The number of inputs the op takes.
    public var arity: Int {
        switch self {
        case .input: 0
        case .add: 2
        case .conv, .batchNorm, .relu, .activation, .dropout, .maxPool, .avgPool, .globalAvgPool, .flatten, .linear: 1
        }
    }

    /// Infers the output shape from the input shapes, or says why the inputs do not fit.
    public func outputShape(_ inputs: [Shape]) throws(ShapeError) -> Shape {
        precondition(inputs.count == arity, "\(kindName) takes \(arity) inputs")
        switch self {
        case .input:
            throw ShapeError("the input has no shape of its own")
        case .conv(let c):
            let x = try Self.map(inputs[0], for: "conv")
            guard x.channels % c.groups == 0 else {
                throw ShapeError("conv groups (\(c.groups)) do not divide its \(x.channels) input channels",
                                 help: "choose groups that divide \(x.channels)")
            }
            guard c.outChannels % c.groups == 0 else {
                throw ShapeError("conv groups (\(c.groups)) do not divide its \(c.outChannels) output channels",
                                 help: "choose groups that divide \(c.outChannels)")
            }
            let (h, w) = try Self.window(c.kernel, over: x, "conv \(c.kernel.description)")
            return .map(c.outChannels, h, w)
        case .batchNorm, .relu, .activation, .dropout:
            return inputs[0]
        case .maxPool(let p), .avgPool(let p):
            let x = try Self.map(inputs[0], for: "pool")
            guard p.window.padH * 2 <= p.window.sizeH, p.window.padW * 2 <= p.window.sizeW else {
                throw ShapeError("pool padding \(p.window.padH) is more than half its \(p.window.sizeH)x\(p.window.sizeW) window",
                                 help: "use at most half the window size as padding, as PyTorch requires")
            }
            let (h, w) = try Self.window(p.window, over: x, "pool \(p.window.description)")
            return .map(x.channels, h, w)
        case .globalAvgPool:
            let x = try Self.map(inputs[0], for: "global_avgpool")
            return .map(x.channels, 1, 1)
        case .flatten:
            return .vector(inputs[0].elementCount)
        case .linear(let l):
            guard inputs[0].dims.count == 1 else {
                throw ShapeError("linear takes a vector, got a \(inputs[0]) feature map",
                                 help: "put 'flatten' (or 'global_avgpool' and 'flatten') before it")
            }
            return .vector(l.outFeatures)
        case .add:
            guard inputs[0] == inputs[1] else {
                throw ShapeError("cannot add \(inputs[0]) to \(inputs[1])")
            }
            return inputs[0]
        }
    }

    private static func map(_ shape: Shape, for op: String) throws(ShapeError) -> Shape {
        guard shape.isMap else {
            throw ShapeError("\(op) takes a CxHxW feature map, got a vector of \(shape.elementCount)",
                             help: "move it before 'flatten'")
        }
        return shape
    }

    private static func window(_ w: Window, over x: Shape, _ what: String) throws(ShapeError) -> (Int, Int) {
        let (h, wd) = w.outputSize(height: x.height, width: x.width)
        guard h >= 1, wd >= 1 else {
            throw ShapeError("\(what) collapses the \(x.height)x\(x.width) feature map to \(h)x\(wd)",
                             help: "use a larger input size, or fewer downsampling layers")
        }
        return (h, wd)
    }
}
