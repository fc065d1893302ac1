import NetcKernels

/// What max and average pooling share: a window over each channel's map, written
/// `{kernel, stride, pad}` with the stride defaulting to the kernel.
public protocol SlidingPool: Operator {
    var pool: Window { get }
    init(pool: Window)
}

extension SlidingPool {
    static func poolAttributes(pad padDoc: String) -> [LayerAttribute] {
        [LayerAttribute("kernel", required: true, "window size"),
         LayerAttribute("stride", default: "kernel", "stride"),
         LayerAttribute("pad", default: "0", padDoc)]
    }

    public static func make(_ key: String, _ a: inout some LayerAttributeReader) -> Self? {
        let kernel = a.int("kernel", min: 1, default: nil)
        let stride = a.int("stride", min: 1, default: kernel ?? 1), pad = a.int("pad", min: 0, default: 0)
        guard let kernel, let stride, let pad else { return nil }
        return Self(pool: Window(size: kernel, stride: stride, pad: pad))
    }

    public var summaryKind: String { "\(kindName) \(pool.description)" }
    public var window: (window: Window, groups: Int?)? { (pool, nil) }

    public func outputShape(_ inputs: [Shape]) throws(ShapeError) -> Shape {
        let x = try ShapeRules.map(inputs[0], for: "pool")
        guard pool.padH * 2 <= pool.sizeH, pool.padW * 2 <= pool.sizeW else {
            throw ShapeError("pool padding \(pool.padH) is more than half its \(pool.sizeH)x\(pool.sizeW) window",
                             help: "use at most half the window size as padding, as PyTorch requires")
        }
        let (h, w) = try ShapeRules.window(pool, over: x, "pool \(pool.description)")
        return .map(x.channels, h, w)
    }

    /// pycls counts pooling outputs as activations (`pool2d_cx`).
    public func addWork(to c: inout Cost, of node: Node) { c.pyclsActivations = node.shape.elementCount }
}

// MARK: Running

extension SlidingPool {
    /// The kernels' view of this pooling on a batch of `n` inputs of shape `x`.
    public func geometry(input x: Shape, n: Int) -> PoolGeometry {
        PoolGeometry(planes: x.channels * n, height: x.height, width: x.width, kernelH: pool.sizeH, kernelW: pool.sizeW,
                     strideH: pool.strideH, strideW: pool.strideW, padH: pool.padH, padW: pool.padW)
    }
}
