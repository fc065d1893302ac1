import NetcKernels

/// How a convolution is computed. One function (`choose`) picks it from the shape, so a
/// profile can print it, a test can force each one, and a fixed seed repeats a run bit for bit.
public enum ConvAlgorithm: String, Hashable, Sendable, CaseIterable {
    /// 1x1, stride 1, no padding: the input is already the GEMM's right-hand matrix.
    case pointwise = "gemm 1x1"
    /// Unfold patches a chunk of images at a time (im2col), then one GEMM per chunk and group.
    case im2col = "im2col gemm"
    /// im2col over only the kernel taps that read a pixel: on maps smaller than the kernel's
    /// reach (3x3 on 1x1) the others only multiply padding.
    case liveTaps = "im2col gemm, live taps"

    /// The algorithm for a convolution of this shape.
    public static func choose(_ g: ConvGeometry) -> ConvAlgorithm {
        g.isPointwise ? .pointwise : g.hasDeadTaps ? .liveTaps : .im2col
    }

    /// Whether this algorithm can compute a convolution of this shape.
    public func applies(to g: ConvGeometry) -> Bool {
        switch self {
        case .pointwise: g.isPointwise
        case .im2col: !g.isPointwise && !g.hasDeadTaps
        case .liveTaps: !g.isPointwise && g.hasDeadTaps
        }
    }

    /// Floats of scratch it needs for a convolution of `g` (which fixes the batch).
    func workspaceCount(_ g: ConvGeometry) -> Int {
        switch self {
        case .pointwise, .im2col, .liveTaps: g.workspaceCount
        }
    }

    func forward(_ g: ConvGeometry, x: UnsafeBufferPointer<Float>, weight: UnsafeBufferPointer<Float>,
                 bias: UnsafeBufferPointer<Float>?, y: UnsafeMutableBufferPointer<Float>,
                 workspace: UnsafeMutableBufferPointer<Float>, epilogue: ConvEpilogue = .none) {
        switch self {
        case .pointwise, .im2col, .liveTaps:
            convForward(g, x: x, weight: weight, bias: bias, y: y, workspace: workspace, epilogue: epilogue)
        }
    }

    func backwardData(_ g: ConvGeometry, dy: UnsafeBufferPointer<Float>, weight: UnsafeBufferPointer<Float>,
                      dx: UnsafeMutableBufferPointer<Float>, workspace: UnsafeMutableBufferPointer<Float>, accumulate: Bool) {
        switch self {
        case .pointwise, .im2col, .liveTaps:
            convBackwardData(g, dy: dy, weight: weight, dx: dx, workspace: workspace, accumulate: accumulate)
        }
    }

    func backwardFilter(_ g: ConvGeometry, x: UnsafeBufferPointer<Float>, dy: UnsafeBufferPointer<Float>,
                        dWeight: UnsafeMutableBufferPointer<Float>, dBias: UnsafeMutableBufferPointer<Float>?,
                        workspace: UnsafeMutableBufferPointer<Float>) {
        switch self {
        case .pointwise, .im2col, .liveTaps:
            convBackwardFilter(g, x: x, dy: dy, dWeight: dWeight, dBias: dBias, workspace: workspace)
        }
    }
}
