// Max / average / global-average pooling on CNHW activations. Pooling never mixes
// planes, and in CNHW each (channel, image) plane [H][W] is contiguous, so all kernels
// treat the tensor as `planes = C*N` independent images and parallelise over planes.

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
///   - indices: `[C][N][OH][OW]`, receives the winner's offset `h*W + w` inside its plane; nil
///     when nothing needs them (inference: no backward).
public func maxPoolForward(_ g: PoolGeometry, x: UnsafeBufferPointer<Float>, y: UnsafeMutableBufferPointer<Float>,
                           indices: UnsafeMutableBufferPointer<Int32>?) {
    precondition(x.count >= g.inputCount && y.count >= g.outputCount && (indices?.count ?? .max) >= g.outputCount,
                 "maxpool: buffer too small")
    let (h, w, oh, ow) = (g.height, g.width, g.outH, g.outW)
    let xp = x.baseAddress!, yp = y.baseAddress!, ip = indices?.baseAddress
    parallelFor(g.planes, workPerItem: oh * ow * g.kernelH * g.kernelW) { range in
        for p in range {
            let xs = xp + p * h * w, ys = yp + p * oh * ow, id = ip.map { $0 + p * oh * ow }
            for i in 0..<oh {
                let h0 = i * g.strideH - g.padH
                let hLo = max(h0, 0), hHi = min(h0 + g.kernelH, h)
                // ResNet's stem pool (3x3, stride 2, pad 1): eight outputs at a time where their
                // windows' columns lie inside the row; the window-at-a-time loop does the rest.
                let vectorOutputs = g.isStemPool ? stemPoolRow(xs, hLo..<hHi, width: w, outputs: ow,
                                                              y: ys + i * ow, indices: id.map { $0 + i * ow }) : 0..<0
                for j in 0..<ow where !vectorOutputs.contains(j) {
                    let w0 = j * g.strideW - g.padW
                    let wLo = max(w0, 0), wHi = min(w0 + g.kernelW, w)
                    var best = -Float.infinity, arg = hLo * w + wLo
                    for a in hLo..<hHi {
                        for b in wLo..<wHi {
                            let v = xs[a * w + b]
                            if v > best || v.isNaN { best = v; arg = a * w + b; if v.isNaN { break } }
                        }
                        if best.isNaN { break }
                    }
                    ys[i * ow + j] = best
                    id?[i * ow + j] = Int32(truncatingIfNeeded: arg)
                }
            }
        }
    }
}

/// Eight outputs of one row of a 3x3, stride-2, pad-1 max pool at a time: outputs j read columns
/// 2j-1, 2j and 2j+1 of input rows `rows`, which two loads of 16 columns split into (even and odd
/// lanes); comparisons and selects stay in vectors. Each output meets its window's taps in
/// row-major order and the first NaN sticks, as in the scalar loop, so ties and NaNs resolve the
/// same way. Returns the outputs it wrote: blocks of eight from output 1, the last one moved back
/// to end where the loads must (it recomputes some outputs, with the same results). The scalar
/// loop took 11% of ResNeXt's inference at 96x96, on branches it mispredicts. Without `indices`
/// it tracks no winners, which halves its work.
@inline(__always)
private func stemPoolRow(_ x: UnsafePointer<Float>, _ rows: Range<Int>, width w: Int, outputs ow: Int,
                         y: UnsafeMutablePointer<Float>, indices: UnsafeMutablePointer<Int32>?) -> Range<Int> {
    // The block starting at output j loads columns 2j-1 ..< 2j+17: 2j-1 >= 0 and 2j+16 < w.
    let last = min((w - 17) / 2, ow - 8)
    guard last >= 1 else { return 0..<0 }
    var j0 = 1
    while true {
        var best = SIMD8<Float>(repeating: -.infinity)
        var arg = SIMD8<Int32>(repeating: 0)
        let columns = SIMD8<Int32>(0, 2, 4, 6, 8, 10, 12, 14) &+ Int32(2 * j0 - 1)
        for a in rows {
            let row = x + a * w + 2 * j0 - 1
            let left = UnsafeRawPointer(row).loadUnaligned(as: SIMD16<Float>.self)
            let right = UnsafeRawPointer(row + 2).loadUnaligned(as: SIMD16<Float>.self)
            let base = columns &+ Int32(a * w)
            @inline(__always) func compare(_ v: SIMD8<Float>, _ tap: Int32) {
                let wins = (v .> best) .| ((v .!= v) .& (best .== best))
                best.replace(with: v, where: wins)
                if indices != nil { arg.replace(with: base &+ tap, where: wins) }
            }
            compare(left.evenHalf, 0)
            compare(left.oddHalf, 1)
            compare(right.evenHalf, 2)
        }
        UnsafeMutableRawPointer(y + j0).storeBytes(of: best, as: SIMD8<Float>.self)
        if let indices {
            // A window of -inf keeps its first pixel, as in the scalar loop.
            arg.replace(with: columns &+ Int32(rows.lowerBound * w), where: best .== -.infinity)
            UnsafeMutableRawPointer(indices + j0).storeBytes(of: arg, as: SIMD8<Int32>.self)
        }
        if j0 == last { return 1..<last + 8 }
        j0 = min(j0 + 8, last)
    }
}

extension PoolGeometry {
    /// ResNet's stem pool: 3x3, stride 2, pad 1.
    var isStemPool: Bool {
        (kernelH, kernelW, strideH, strideW, padH, padW) == (3, 3, 2, 2, 1, 1)
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
