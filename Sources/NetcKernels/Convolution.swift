// 2-D convolution (cross-correlation, like PyTorch) on CNHW activations via im2col + GEMM.
//
// Per group g (Cin/g input channels -> Cout/g output channels):
//   forward:         Y_g[Cout/g, N*OH*OW]     = W_g[Cout/g, K] x col_g[K, N*OH*OW]
//   backward data:   col_g[K, N*OH*OW]        = W_gᵀ x dY_g, then col2im (accumulating) into dX_g
//   backward filter: dW_g[Cout/g, K]          = dY_g x col_gᵀ
// with K = Cin/g*KH*KW. In CNHW every group's X_g, Y_g, dY_g is a contiguous row block,
// and W_g is a contiguous row block of W[Cout, K], so each group is one plain GEMM.

/// Shape and hyper-parameters of a convolution. Activations are CNHW, weights are
/// PyTorch's `[Cout, Cin/groups, KH, KW]`.
public struct ConvGeometry: Equatable, Sendable {
    public var n: Int
    public var inChannels: Int
    public var height: Int
    public var width: Int
    public var outChannels: Int
    public var kernelH: Int
    public var kernelW: Int
    public var strideH: Int
    public var strideW: Int
    public var padH: Int
    public var padW: Int
    public var groups: Int

    public init(n: Int, inChannels: Int, height: Int, width: Int, outChannels: Int,
                kernelH: Int, kernelW: Int, strideH: Int = 1, strideW: Int = 1,
                padH: Int = 0, padW: Int = 0, groups: Int = 1) {
        precondition(groups >= 1 && inChannels % groups == 0 && outChannels % groups == 0,
                     "conv: channels must be divisible by groups")
        precondition(kernelH >= 1 && kernelW >= 1 && strideH >= 1 && strideW >= 1 && padH >= 0 && padW >= 0)
        self.n = n; self.inChannels = inChannels; self.height = height; self.width = width
        self.outChannels = outChannels; self.kernelH = kernelH; self.kernelW = kernelW
        self.strideH = strideH; self.strideW = strideW; self.padH = padH; self.padW = padW
        self.groups = groups
        precondition(outH >= 1 && outW >= 1, "conv: kernel larger than padded input")
    }

    public var outH: Int { (height + 2 * padH - kernelH) / strideH + 1 }
    public var outW: Int { (width + 2 * padW - kernelW) / strideW + 1 }
    /// Input channels per group.
    public var groupInChannels: Int { inChannels / groups }
    /// Output channels per group.
    public var groupOutChannels: Int { outChannels / groups }
    /// Rows of the im2col matrix of one group: `Cin/g * KH * KW` (also the weight row length).
    public var patchSize: Int { groupInChannels * kernelH * kernelW }
    public var inputCount: Int { inChannels * n * height * width }
    public var outputCount: Int { outChannels * n * outH * outW }
    public var weightCount: Int { outChannels * patchSize }
    /// True when X itself is the im2col matrix (1x1, stride 1, no padding): no copy needed.
    public var isPointwise: Bool {
        kernelH == 1 && kernelW == 1 && strideH == 1 && strideW == 1 && padH == 0 && padW == 0
    }
    /// Floats of scratch the conv kernels need: one group's im2col matrix
    /// `[Cin/g*KH*KW, N*OH*OW]`, or 0 for the pointwise fast path.
    public var workspaceCount: Int { isPointwise ? 0 : patchSize * n * outH * outW }
}

/// Forward convolution: `y = conv(x, weight) + bias`.
/// - Parameters:
///   - x: `[Cin][N][H][W]`.
///   - weight: `[Cout][Cin/g][KH][KW]`.
///   - bias: `[Cout]` or nil.
///   - y: `[Cout][N][OH][OW]`, overwritten.
///   - workspace: at least `geometry.workspaceCount` floats.
public func convForward(_ g: ConvGeometry,
                        x: UnsafeBufferPointer<Float>, weight: UnsafeBufferPointer<Float>,
                        bias: UnsafeBufferPointer<Float>?, y: UnsafeMutableBufferPointer<Float>,
                        workspace: UnsafeMutableBufferPointer<Float>) {
    checkConvBuffers(g, x.count, y.count, weight.count, workspace.count)
    let cols = g.n * g.outH * g.outW, inPlane = g.n * g.height * g.width
    let cinG = g.groupInChannels, coutG = g.groupOutChannels, k = g.patchSize
    let xp = x.baseAddress!, wp = weight.baseAddress!, yp = y.baseAddress!
    for grp in 0..<g.groups {
        let colMatrix: UnsafePointer<Float>
        if g.isPointwise {
            colMatrix = xp + grp * cinG * inPlane                    // X_g is already [Cin/g, N*H*W]
        } else {
            im2col(g, x: xp + grp * cinG * inPlane, col: workspace.baseAddress!)
            colMatrix = UnsafePointer(workspace.baseAddress!)        // [K, N*OH*OW]
        }
        gemm(m: coutG, n: cols, k: k,
             a: wp + grp * coutG * k, lda: k,                        // W_g [Cout/g, K]
             b: colMatrix, ldb: cols,
             c: yp + grp * coutG * cols, ldc: cols)                  // Y_g [Cout/g, N*OH*OW]
    }
    if let bias { addChannelBias(y: yp, bias: bias.baseAddress!, channels: g.outChannels, plane: cols) }
}

/// Gradient with respect to the input: `dx (+)= convᵀ(dy, weight)`.
/// - Parameters:
///   - dy: `[Cout][N][OH][OW]`; weight: `[Cout][Cin/g][KH][KW]`.
///   - dx: `[Cin][N][H][W]`; overwritten, or added to when `accumulate`.
///   - workspace: at least `geometry.workspaceCount` floats.
public func convBackwardData(_ g: ConvGeometry,
                             dy: UnsafeBufferPointer<Float>, weight: UnsafeBufferPointer<Float>,
                             dx: UnsafeMutableBufferPointer<Float>,
                             workspace: UnsafeMutableBufferPointer<Float>, accumulate: Bool) {
    checkConvBuffers(g, dx.count, dy.count, weight.count, workspace.count)
    let cols = g.n * g.outH * g.outW, inPlane = g.n * g.height * g.width
    let cinG = g.groupInChannels, coutG = g.groupOutChannels, k = g.patchSize
    let dyp = dy.baseAddress!, wp = weight.baseAddress!, dxp = dx.baseAddress!
    if !g.isPointwise && !accumulate { dx.update(repeating: 0) }   // col2im adds into dx
    for grp in 0..<g.groups {
        let wg = wp + grp * coutG * k, dyg = dyp + grp * coutG * cols
        if g.isPointwise {
            // dX_g[Cin/g, N*H*W] = W_gᵀ x dY_g, straight into dx.
            gemm(transA: true, m: cinG, n: cols, k: coutG, a: wg, lda: k, b: dyg, ldb: cols,
                 beta: accumulate ? 1 : 0, c: dxp + grp * cinG * inPlane, ldc: cols)
        } else {
            let col = workspace.baseAddress!
            gemm(transA: true, m: k, n: cols, k: coutG, a: wg, lda: k, b: dyg, ldb: cols,
                 c: col, ldc: cols)                                  // [K, N*OH*OW]
            col2im(g, col: col, dx: dxp + grp * cinG * inPlane)
        }
    }
}

/// Gradients with respect to the weights (overwritten) and optionally the bias (overwritten).
/// - Parameters:
///   - x: `[Cin][N][H][W]`; dy: `[Cout][N][OH][OW]`.
///   - dWeight: `[Cout][Cin/g][KH][KW]`; dBias: `[Cout]` or nil.
///   - workspace: at least `geometry.workspaceCount` floats (x is re-unfolded here).
public func convBackwardFilter(_ g: ConvGeometry,
                               x: UnsafeBufferPointer<Float>, dy: UnsafeBufferPointer<Float>,
                               dWeight: UnsafeMutableBufferPointer<Float>,
                               dBias: UnsafeMutableBufferPointer<Float>?,
                               workspace: UnsafeMutableBufferPointer<Float>) {
    checkConvBuffers(g, x.count, dy.count, dWeight.count, workspace.count)
    let cols = g.n * g.outH * g.outW, inPlane = g.n * g.height * g.width
    let cinG = g.groupInChannels, coutG = g.groupOutChannels, k = g.patchSize
    let xp = x.baseAddress!, dyp = dy.baseAddress!, dwp = dWeight.baseAddress!
    for grp in 0..<g.groups {
        let colMatrix: UnsafePointer<Float>
        if g.isPointwise {
            colMatrix = xp + grp * cinG * inPlane
        } else {
            im2col(g, x: xp + grp * cinG * inPlane, col: workspace.baseAddress!)
            colMatrix = UnsafePointer(workspace.baseAddress!)
        }
        // dW_g[Cout/g, K] = dY_g[Cout/g, N*OH*OW] x colᵀ[N*OH*OW, K]
        gemm(transB: true, m: coutG, n: k, k: cols, a: dyp + grp * coutG * cols, lda: cols,
             b: colMatrix, ldb: cols, c: dwp + grp * coutG * k, ldc: k)
    }
    if let dBias {
        precondition(dBias.count >= g.outChannels, "conv: dBias too small")
        channelSums(dyp, channels: g.outChannels, plane: cols, into: dBias.baseAddress!)
    }
}

@inline(__always)
private func checkConvBuffers(_ g: ConvGeometry, _ xCount: Int, _ yCount: Int, _ wCount: Int, _ wsCount: Int) {
    precondition(xCount >= g.inputCount, "conv: input buffer too small")
    precondition(yCount >= g.outputCount, "conv: output buffer too small")
    precondition(wCount >= g.weightCount, "conv: weight buffer too small")
    precondition(wsCount >= g.workspaceCount, "conv: workspace too small")
}

/// Valid output columns `lo..<hi` for kernel offset `kOff`: those whose input coordinate
/// `o*stride - pad + kOff` lies in `0..<size`. Outside that range the patch reads padding.
@inline(__always)
private func validRange(out: Int, size: Int, stride: Int, pad: Int, kOff: Int) -> (Int, Int) {
    // o*stride >= pad - kOff  and  o*stride <= size - 1 + pad - kOff
    let a = pad - kOff
    let lo = a <= 0 ? 0 : (a + stride - 1) / stride
    let b = size - 1 + pad - kOff
    let hi = b < 0 ? 0 : min(out, b / stride + 1)
    return (min(lo, hi), hi)
}

/// Unfolds one group's input `[Cin/g][N][H][W]` into `col[Cin/g*KH*KW, N*OH*OW]`, where
/// row `(c*KH + kh)*KW + kw` holds, for every output pixel, the input it multiplies by
/// `weight[·, c, kh, kw]` (zero where the window hangs over the padding).
/// Parallel over rows; each row is written by exactly one thread.
func im2col(_ g: ConvGeometry, x: UnsafePointer<Float>, col: UnsafeMutablePointer<Float>) {
    let (h, w, oh, ow, n) = (g.height, g.width, g.outH, g.outW, g.n)
    let (kh, kw, sh, sw, ph, pw) = (g.kernelH, g.kernelW, g.strideH, g.strideW, g.padH, g.padW)
    let rows = g.patchSize, cols = n * oh * ow
    parallelFor(rows, workPerItem: cols) { range in
        for r in range {
            let c = r / (kh * kw), ki = (r / kw) % kh, kj = r % kw
            let (owLo, owHi) = validRange(out: ow, size: w, stride: sw, pad: pw, kOff: kj)
            let (ohLo, ohHi) = validRange(out: oh, size: h, stride: sh, pad: ph, kOff: ki)
            let xc = x + c * n * h * w                                 // [N][H][W] of channel c
            var dst = col + r * cols                                   // row r: [N][OH][OW]
            for img in 0..<n {
                let xi = xc + img * h * w
                dst.update(repeating: 0, count: ohLo * ow)
                dst += ohLo * ow
                for o in ohLo..<ohHi {
                    let src = xi + (o * sh - ph + ki) * w - pw + kj    // input for ow = 0
                    dst.update(repeating: 0, count: owLo)
                    if sw == 1 {
                        (dst + owLo).update(from: src + owLo, count: owHi - owLo)
                    } else {
                        for q in owLo..<owHi { dst[q] = src[q * sw] }
                    }
                    (dst + owHi).update(repeating: 0, count: ow - owHi)
                    dst += ow
                }
                dst.update(repeating: 0, count: (oh - ohHi) * ow)
                dst += (oh - ohHi) * ow
            }
        }
    }
}

/// Folds `col[Cin/g*KH*KW, N*OH*OW]` back onto one group's input gradient
/// `[Cin/g][N][H][W]`, ADDING every patch entry to the input pixel it came from (padding
/// entries are dropped). Parallel over input channels: all KH*KW rows of channel c write
/// only channel c, so threads never race.
func col2im(_ g: ConvGeometry, col: UnsafePointer<Float>, dx: UnsafeMutablePointer<Float>) {
    let (h, w, oh, ow, n) = (g.height, g.width, g.outH, g.outW, g.n)
    let (kh, kw, sh, sw, ph, pw) = (g.kernelH, g.kernelW, g.strideH, g.strideW, g.padH, g.padW)
    let cols = n * oh * ow
    parallelFor(g.groupInChannels, workPerItem: kh * kw * cols) { range in
        for c in range {
            let dxc = dx + c * n * h * w
            for ki in 0..<kh {
                let (ohLo, ohHi) = validRange(out: oh, size: h, stride: sh, pad: ph, kOff: ki)
                for kj in 0..<kw {
                    let (owLo, owHi) = validRange(out: ow, size: w, stride: sw, pad: pw, kOff: kj)
                    let row = col + ((c * kh + ki) * kw + kj) * cols
                    for img in 0..<n {
                        let dxi = dxc + img * h * w, src = row + img * oh * ow
                        for o in ohLo..<ohHi {
                            let dst = dxi + (o * sh - ph + ki) * w - pw + kj   // input for ow = 0
                            let s = src + o * ow
                            if sw == 1 {
                                for q in owLo..<owHi { dst[q] += s[q] }
                            } else {
                                for q in owLo..<owHi { dst[q * sw] += s[q] }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// `y[c, :] += bias[c]` over `[C, plane]`.
func addChannelBias(y: UnsafeMutablePointer<Float>, bias: UnsafePointer<Float>, channels: Int, plane: Int) {
    parallelFor(channels, workPerItem: plane) { range in
        for c in range {
            let b = bias[c], row = y + c * plane
            for i in 0..<plane { row[i] += b }
        }
    }
}

/// `out[c] = Σ x[c, :]` over `[C, plane]`, accumulated in Double (planes can be ~10⁶ long).
func channelSums(_ x: UnsafePointer<Float>, channels: Int, plane: Int, into out: UnsafeMutablePointer<Float>) {
    parallelFor(channels, workPerItem: plane) { range in
        for c in range { out[c] = Float(sumDouble(x + c * plane, plane)) }
    }
}

/// Sum of `count` floats: 8 Float lanes per 1024-element block, blocks combined in Double,
/// so the result is accurate for long runs and the inner loop still vectorizes.
@inline(__always)
func sumDouble(_ p: UnsafePointer<Float>, _ count: Int) -> Double {
    var total = 0.0, i = 0
    while i < count {
        let end = min(count, i + 1024)
        var acc = SIMD8<Float>()
        while i + 8 <= end {
            acc += UnsafeRawPointer(p + i).loadUnaligned(as: SIMD8<Float>.self)
            i += 8
        }
        var part = Double(acc.sum())
        while i < end { part += Double(p[i]); i += 1 }
        total += part
    }
    return total
}
