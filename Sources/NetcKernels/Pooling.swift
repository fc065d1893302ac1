// Max / average / global-average pooling on CNHW activations. Pooling never mixes
// planes, and in CNHW each (channel, image) plane [H][W] is contiguous, so all kernels
// treat the tensor as `planes = C*N` independent images and parallelise over planes.

import CKernels

/// Shape and hyper-parameters of a 2-D pooling window (PyTorch semantics, ceil_mode = false).
public struct PoolGeometry: Equatable, Sendable {
    /// `C * N`: number of independent [H][W] planes.
    public var planes: Int
    public var height: Int
    public var width: Int
    public var kernelH: Int
    public var kernelW: Int
    public var strideH: Int
    public var strideW: Int
    public var padH: Int
    public var padW: Int

    public init(planes: Int, height: Int, width: Int, kernelH: Int, kernelW: Int,
                strideH: Int, strideW: Int, padH: Int = 0, padW: Int = 0) {
        // PyTorch's rule; it guarantees every window overlaps the real input.
        precondition(padH * 2 <= kernelH && padW * 2 <= kernelW, "pool: pad must be at most half the kernel")
        precondition(kernelH >= 1 && kernelW >= 1 && strideH >= 1 && strideW >= 1)
        self.planes = planes; self.height = height; self.width = width
        self.kernelH = kernelH; self.kernelW = kernelW; self.strideH = strideH; self.strideW = strideW
        self.padH = padH; self.padW = padW
        precondition(outH >= 1 && outW >= 1, "pool: window larger than padded input")
    }

    /// Square window convenience: `channels * n` planes.
    public init(channels: Int, n: Int, height: Int, width: Int, kernel: Int, stride: Int, pad: Int = 0) {
        self.init(planes: channels * n, height: height, width: width, kernelH: kernel, kernelW: kernel,
                  strideH: stride, strideW: stride, padH: pad, padW: pad)
    }

    public var outH: Int { (height + 2 * padH - kernelH) / strideH + 1 }
    public var outW: Int { (width + 2 * padW - kernelW) / strideW + 1 }
    public var inputCount: Int { planes * height * width }
    public var outputCount: Int { planes * outH * outW }
}

/// Max pooling. Padding acts as -inf (it never wins), NaN propagates like PyTorch.
/// - Parameters:
///   - x: `[C][N][H][W]`; y: `[C][N][OH][OW]`.
///   - indices: `[C][N][OH][OW]`, receives the winner's offset `h*W + w` inside its plane (the first
///     largest in row-major order, or the first NaN); nil when nothing needs them (inference: no
///     backward).
///   - instructionSet: the copy of `netc_max_pool` to run (C: 16 outputs of a row at a time, each
///     input row's window maxima computed once for the output rows that share it).
public func maxPoolForward(_ g: PoolGeometry, x: UnsafeBufferPointer<Float>, y: UnsafeMutableBufferPointer<Float>,
                           indices: UnsafeMutableBufferPointer<Int32>?, instructionSet: InstructionSet = .widest) {
    precondition(x.count >= g.inputCount && y.count >= g.outputCount && (indices?.count ?? .max) >= g.outputCount,
                 "maxpool: buffer too small")
    precondition(g.height * g.width <= Int(Int32.max), "maxpool: plane too large for its indices")
    let (h, w, oh, ow) = (g.height, g.width, g.outH, g.outW)
    let xp = x.baseAddress!, yp = y.baseAddress!, ip = indices?.baseAddress
    parallelFor(g.planes, workPerItem: h * w + oh * ow) { range in
        netc_max_pool(instructionSet.rawValue, range.count, h, w, g.kernelH, g.kernelW, g.strideH, g.strideW, g.padH, g.padW,
                      oh, ow, xp + range.lowerBound * h * w, yp + range.lowerBound * oh * ow,
                      ip.map { $0 + range.lowerBound * oh * ow })
    }
}

/// Max-pool backward: each `dy` goes to the input that won its window.
/// dx is overwritten unless `accumulate`.
public func maxPoolBackward(_ g: PoolGeometry, dy: UnsafeBufferPointer<Float>, indices: UnsafeBufferPointer<Int32>,
                            dx: UnsafeMutableBufferPointer<Float>, accumulate: Bool) {
    precondition(dy.count >= g.outputCount && indices.count >= g.outputCount && dx.count >= g.inputCount,
                 "maxpool: buffer too small")
    let inPlane = g.height * g.width, outPlane = g.outH * g.outW
    let dyp = dy.baseAddress!, ip = indices.baseAddress!, dxp = dx.baseAddress!
    parallelFor(g.planes, workPerItem: inPlane + outPlane) { range in
        for p in range {
            let dxs = dxp + p * inPlane, dys = dyp + p * outPlane, id = ip + p * outPlane
            if !accumulate { dxs.update(repeating: 0, count: inPlane) }
            // Overlapping windows may share a winner, hence +=; planes never share, so no races.
            for o in 0..<outPlane { dxs[Int(id[o])] += dys[o] }
        }
    }
}

/// Average pooling with `count_include_pad = true` (PyTorch default): every window is
/// divided by `KH*KW`, padded zeros included.
/// - Parameters: x: `[C][N][H][W]`; y: `[C][N][OH][OW]`.
public func avgPoolForward(_ g: PoolGeometry, x: UnsafeBufferPointer<Float>, y: UnsafeMutableBufferPointer<Float>) {
    precondition(x.count >= g.inputCount && y.count >= g.outputCount, "avgpool: buffer too small")
    let (h, w, oh, ow) = (g.height, g.width, g.outH, g.outW)
    let xp = x.baseAddress!, yp = y.baseAddress!
    let inv = 1 / Float(g.kernelH * g.kernelW)
    parallelFor(g.planes, workPerItem: oh * ow * g.kernelH * g.kernelW) { range in
        for p in range {
            let xs = xp + p * h * w, ys = yp + p * oh * ow
            for i in 0..<oh {
                let h0 = i * g.strideH - g.padH
                let hLo = max(h0, 0), hHi = min(h0 + g.kernelH, h)
                for j in 0..<ow {
                    let w0 = j * g.strideW - g.padW
                    let wLo = max(w0, 0), wHi = min(w0 + g.kernelW, w)
                    var s: Float = 0
                    for a in hLo..<hHi { for b in wLo..<wHi { s += xs[a * w + b] } }
                    ys[i * ow + j] = s * inv
                }
            }
        }
    }
}

/// Average-pool backward: spreads `dy / (KH*KW)` over each window's real (unpadded) inputs.
/// dx is overwritten unless `accumulate`.
public func avgPoolBackward(_ g: PoolGeometry, dy: UnsafeBufferPointer<Float>,
                            dx: UnsafeMutableBufferPointer<Float>, accumulate: Bool) {
    precondition(dy.count >= g.outputCount && dx.count >= g.inputCount, "avgpool: buffer too small")
    let (h, w, oh, ow) = (g.height, g.width, g.outH, g.outW)
    let dyp = dy.baseAddress!, dxp = dx.baseAddress!
    let inv = 1 / Float(g.kernelH * g.kernelW)
    parallelFor(g.planes, workPerItem: oh * ow * g.kernelH * g.kernelW) { range in
        for p in range {
            let dxs = dxp + p * h * w, dys = dyp + p * oh * ow
            if !accumulate { dxs.update(repeating: 0, count: h * w) }
            for i in 0..<oh {
                let h0 = i * g.strideH - g.padH
                let hLo = max(h0, 0), hHi = min(h0 + g.kernelH, h)
                for j in 0..<ow {
                    let w0 = j * g.strideW - g.padW
                    let wLo = max(w0, 0), wHi = min(w0 + g.kernelW, w)
                    let v = dys[i * ow + j] * inv
                    for a in hLo..<hHi { for b in wLo..<wHi { dxs[a * w + b] += v } }
                }
            }
        }
    }
}

/// Global average pooling `[C][N][H][W] -> [C, N]`: the mean of every plane. The output is
/// already the feature-major `[F, N]` layout linear layers take.
/// - Parameters: planes = `C*N`, spatial = `H*W`.
public func globalAvgPoolForward(x: UnsafeBufferPointer<Float>, y: UnsafeMutableBufferPointer<Float>,
                                 planes: Int, spatial: Int) {
    precondition(x.count >= planes * spatial && y.count >= planes, "global avgpool: buffer too small")
    let xp = x.baseAddress!, yp = y.baseAddress!
    let inv = 1 / Double(spatial)
    parallelFor(planes, workPerItem: spatial) { range in
        for p in range { yp[p] = Float(sumDouble(xp + p * spatial, spatial) * inv) }
    }
}

/// Global average pooling backward: `dx[p, :] (+)= dy[p] / spatial`.
public func globalAvgPoolBackward(dy: UnsafeBufferPointer<Float>, dx: UnsafeMutableBufferPointer<Float>,
                                  planes: Int, spatial: Int, accumulate: Bool) {
    precondition(dy.count >= planes && dx.count >= planes * spatial, "global avgpool: buffer too small")
    let dyp = dy.baseAddress!, dxp = dx.baseAddress!
    let inv = 1 / Float(spatial)
    parallelFor(planes, workPerItem: spatial) { range in
        for p in range {
            let v = dyp[p] * inv, d = dxp + p * spatial
            if accumulate { for i in 0..<spatial { d[i] += v } } else { d.update(repeating: v, count: spatial) }
        }
    }
}
