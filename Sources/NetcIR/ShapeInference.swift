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
    /// The numbers of inputs the op takes.
    public var arity: ClosedRange<Int> {
        switch self {
        case .input: 0...0
        case .add, .mul: 2...2
        case .concat: 2...Int.max
        case .conv, .batchNorm, .relu, .activation, .dropout, .maxPool, .avgPool, .globalAvgPool, .flatten, .linear: 1...1
        }
    }

    /// Infers the output shape from the input shapes, or says why the inputs do not fit.
    public func outputShape(_ inputs: [Shape]) throws(ShapeError) -> Shape {
        precondition(arity.contains(inputs.count), "\(kindName) takes \(arity) inputs, not \(inputs.count)")
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
        case .mul:
            let (a, b) = (inputs[0], inputs[1])
            if a == b { return a }
            if a.isMap, b.isMap, a.channels == b.channels {
                if b.height == 1 && b.width == 1 { return a }
                if a.height == 1 && a.width == 1 { return b }
            }
            throw ShapeError("cannot multiply \(a) by \(b)",
                             help: "multiply equal shapes, or a CxHxW map by a Cx1x1 scale (e.g. the output of 'global_avgpool' and a 1x1 conv)")
        case .concat:
            let maps = try inputs.map { shape throws(ShapeError) in try Self.map(shape, for: "concat") }
            guard let first = maps.first, maps.allSatisfy({ $0.height == first.height && $0.width == first.width }) else {
                throw ShapeError("cannot concatenate \(inputs.map(\.description).joined(separator: ", ")) along channels",
                                 help: "every input needs the same height and width; give the branches the same stride and padding")
            }
            return .map(maps.reduce(0) { $0 + $1.channels }, first.height, first.width)
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
