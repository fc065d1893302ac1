// Convolution on maps so small that each output pixel reads fewer input pixels than the kernel
// has taps: ResNet-18's 3x3s on 2x2 maps (its third stage at 28x28), where every output reads
// the 4 pixels and im2col's other 5 taps only multiply padding. The map itself is then the unit:
// per image, Y[Cout*P] = M[Cout*P, Cin*Q] x X[Cin*Q], with P output and Q input pixels, and
// M[(o, p), (c, q)] = w[o, c, tap(p, q)] (0 where q is outside p's window). That multiplies
// P*Q per channel pair instead of P*9: 16 against 36 on a 2x2 map. The batch runs as one GEMM
// over images in NCHW order, so activations are transposed on the way in and out (they are
// small: the map is).

extension ConvGeometry {
    /// Whether multiplying whole maps beats unfolding patches: each output pixel reads fewer input
    /// pixels than live taps, with one group and an unrolled matrix of at most 16M floats.
    public var wholeMapApplies: Bool {
        groups == 1 && !isPointwise && height * width < liveTapCount && wholeMapMatrixCount <= 1 << 24
    }

    /// Floats of the unrolled matrix M, `[Cout*P, Cin*Q]`.
    var wholeMapMatrixCount: Int { outChannels * outH * outW * inChannels * height * width }

    /// Floats of scratch: M (or its gradient), and the batch's input and output in NCHW order.
    public var wholeMapWorkspaceCount: Int {
        wholeMapMatrixCount + n * inChannels * height * width + n * outChannels * outH * outW
    }
}

/// Forward convolution on whole maps (`wholeMapApplies`): `y = conv(x, weight) + bias`, then the
/// epilogue. Same contract as `convForward`; `workspace` holds `wholeMapWorkspaceCount` floats.
public func wholeMapConvForward(_ g: ConvGeometry,
                                x: UnsafeBufferPointer<Float>, weight: UnsafeBufferPointer<Float>,
                                bias: UnsafeBufferPointer<Float>?, y: UnsafeMutableBufferPointer<Float>,
                                workspace: UnsafeMutableBufferPointer<Float>, epilogue: ConvEpilogue = .none) {
    let s = WholeMapScratch(g, x.count, y.count, weight.count, workspace)
    precondition(bias.map { $0.count >= g.outChannels } ?? true, "conv: bias too small")
    unroll(g, weight.baseAddress!, into: s.matrix)
    cnhwToNchw(x, s.input, n: g.n, c: g.inChannels, spatial: s.q)
    // Y[N, Cout*P] = X[N, Cin*Q] x Mᵀ
    gemm(transB: true, m: g.n, n: s.outRow, k: s.inRow, a: s.input.baseAddress!, lda: s.inRow,
         b: s.matrix.baseAddress!, ldb: s.inRow, c: s.output.baseAddress!, ldc: s.outRow)
    // Back to CNHW, with the epilogue on the way.
    let yn = s.output.baseAddress!, yp = y.baseAddress!, n = g.n, p = s.p
    parallelFor(g.outChannels, workPerItem: n * p) { range in
        for o in range {
            let b = bias?[o] ?? 0
            for img in 0..<n {
                let src = yn + img * s.outRow + o * p, dst = yp + (o * n + img) * p
                for i in 0..<p {
                    var v = src[i] + b
                    if epilogue.accumulate { v += dst[i] }
                    dst[i] = epilogue.relu ? max(v, 0) : v
                }
            }
        }
    }
}

/// Gradient with respect to the input on whole maps: `dx (+)= convᵀ(dy, weight)`.
public func wholeMapConvBackwardData(_ g: ConvGeometry,
                                     dy: UnsafeBufferPointer<Float>, weight: UnsafeBufferPointer<Float>,
                                     dx: UnsafeMutableBufferPointer<Float>,
                                     workspace: UnsafeMutableBufferPointer<Float>, accumulate: Bool) {
    let s = WholeMapScratch(g, dx.count, dy.count, weight.count, workspace)
    unroll(g, weight.baseAddress!, into: s.matrix)
    cnhwToNchw(dy, s.output, n: g.n, c: g.outChannels, spatial: s.p)
    // dX[N, Cin*Q] = dY[N, Cout*P] x M
    gemm(m: g.n, n: s.inRow, k: s.outRow, a: s.output.baseAddress!, lda: s.outRow,
         b: s.matrix.baseAddress!, ldb: s.inRow, c: s.input.baseAddress!, ldc: s.inRow)
    let dxn = s.input.baseAddress!, dxp = dx.baseAddress!, n = g.n, q = s.q
    parallelFor(g.inChannels, workPerItem: n * q) { range in
        for c in range {
            for img in 0..<n {
                let src = dxn + img * s.inRow + c * q, dst = dxp + (c * n + img) * q
                for i in 0..<q { dst[i] = accumulate ? dst[i] + src[i] : src[i] }
            }
        }
    }
}

/// Gradients with respect to the weights (overwritten) and optionally the bias (overwritten),
/// on whole maps: dM = dYᵀ x X, then each tap's entries of dM summed into its weight.
public func wholeMapConvBackwardFilter(_ g: ConvGeometry,
                                       x: UnsafeBufferPointer<Float>, dy: UnsafeBufferPointer<Float>,
                                       dWeight: UnsafeMutableBufferPointer<Float>,
                                       dBias: UnsafeMutableBufferPointer<Float>?,
                                       workspace: UnsafeMutableBufferPointer<Float>) {
    let s = WholeMapScratch(g, x.count, dy.count, dWeight.count, workspace)
    cnhwToNchw(x, s.input, n: g.n, c: g.inChannels, spatial: s.q)
    cnhwToNchw(dy, s.output, n: g.n, c: g.outChannels, spatial: s.p)
    // dM[Cout*P, Cin*Q] = dY[N, Cout*P]ᵀ x X[N, Cin*Q]
    gemm(transA: true, m: s.outRow, n: s.inRow, k: g.n, a: s.output.baseAddress!, lda: s.outRow,
         b: s.input.baseAddress!, ldb: s.inRow, c: s.matrix.baseAddress!, ldc: s.inRow)
    let dm = s.matrix.baseAddress!, dw = dWeight.baseAddress!, taps = g.kernelH * g.kernelW
    parallelFor(g.outChannels, workPerItem: s.p * s.inRow) { range in
        for o in range {
            let dwo = dw + o * g.inChannels * taps
            dwo.update(repeating: 0, count: g.inChannels * taps)
            forEachPair(g) { p, q, tap in
                let row = dm + (o * s.p + p) * s.inRow + q
                for c in 0..<g.inChannels { dwo[c * taps + tap] += row[c * s.q] }
            }
        }
    }
    if let dBias {
        precondition(dBias.count >= g.outChannels, "conv: dBias too small")
        channelSums(dy.baseAddress!, channels: g.outChannels, plane: g.n * s.p, into: dBias.baseAddress!)
    }
}

/// The scratch of the whole-map kernels, after checking every buffer against the geometry.
private struct WholeMapScratch {
    /// Output and input pixels of one map, and the lengths of a row of Y and of X in NCHW.
    let p: Int, q: Int, outRow: Int, inRow: Int
    let matrix: UnsafeMutableBufferPointer<Float>, input: UnsafeMutableBufferPointer<Float>
    let output: UnsafeMutableBufferPointer<Float>

    init(_ g: ConvGeometry, _ xCount: Int, _ yCount: Int, _ wCount: Int, _ workspace: UnsafeMutableBufferPointer<Float>) {
        precondition(g.wholeMapApplies, "conv: the map is too large to multiply whole")
        precondition(xCount >= g.inputCount, "conv: input buffer too small")
        precondition(yCount >= g.outputCount, "conv: output buffer too small")
        precondition(wCount >= g.weightCount, "conv: weight buffer too small")
        precondition(workspace.count >= g.wholeMapWorkspaceCount, "conv: workspace too small")
        p = g.outH * g.outW; q = g.height * g.width
        outRow = g.outChannels * p; inRow = g.inChannels * q
        let m = g.wholeMapMatrixCount, xn = g.n * inRow
        matrix = UnsafeMutableBufferPointer(rebasing: workspace[0..<m])
        input = UnsafeMutableBufferPointer(rebasing: workspace[m..<m + xn])
        output = UnsafeMutableBufferPointer(rebasing: workspace[m + xn..<m + xn + g.n * outRow])
    }
}

/// Calls `body(p, q, tap)` for every output pixel p and input pixel q inside p's window.
@inline(__always)
private func forEachPair(_ g: ConvGeometry, _ body: (_ p: Int, _ q: Int, _ tap: Int) -> Void) {
    for oh in 0..<g.outH {
        for ow in 0..<g.outW {
            for ki in 0..<g.kernelH {
                let ih = oh * g.strideH - g.padH + ki
                guard ih >= 0 && ih < g.height else { continue }
                for kj in 0..<g.kernelW {
                    let iw = ow * g.strideW - g.padW + kj
                    guard iw >= 0 && iw < g.width else { continue }
                    body(oh * g.outW + ow, ih * g.width + iw, ki * g.kernelW + kj)
                }
            }
        }
    }
}

/// M[(o, p), (c, q)] = w[o, c, tap(p, q)], zero where q is outside p's window.
private func unroll(_ g: ConvGeometry, _ weight: UnsafePointer<Float>, into matrix: UnsafeMutableBufferPointer<Float>) {
    let p = g.outH * g.outW, q = g.height * g.width, inRow = g.inChannels * q, taps = g.kernelH * g.kernelW
    let m = matrix.baseAddress!
    parallelFor(g.outChannels, workPerItem: p * inRow) { range in
        for o in range {
            (m + o * p * inRow).update(repeating: 0, count: p * inRow)
            let wo = weight + o * g.inChannels * taps
            forEachPair(g) { pp, qq, tap in
                let row = m + (o * p + pp) * inRow + qq
                for c in 0..<g.inChannels { row[c * q] = wo[c * taps + tap] }
            }
        }
    }
}
