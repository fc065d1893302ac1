// Depthwise convolution (groups == input channels == output channels: MobileNet's 3x3s): each
// channel is filtered by its own kh x kw kernel. As grouped GEMMs that is one product of a single
// row per channel, all overhead; here it is direct loops over each channel's planes (CNHW: a
// channel's images are consecutive planes), whose inner loop runs along an output row.

extension ConvGeometry {
    /// Each input channel is its own group with one output channel.
    public var isDepthwise: Bool { groups > 1 && groups == inChannels && groups == outChannels }
}

/// Where a depthwise kernel's taps read, the traversal all three kernels share. Per kernel column
/// the output columns whose tap lands inside the input row, and the shift to its input column,
/// are the same for every row, so they are computed once a call.
private struct DepthwiseTaps {
    let g: ConvGeometry
    let columns: [(outputs: Range<Int>, shift: Int)]

    init(_ g: ConvGeometry) {
        self.g = g
        columns = (0..<g.kernelW).map { kj in
            let (lo, hi) = validRange(out: g.outW, size: g.width, stride: g.strideW, pad: g.padW, kOff: kj)
            return (lo..<hi, kj - g.padW)
        }
    }

    /// For output row `oh`, each tap that lands inside the input: `body(tap, inputRow, outputs, shift)`,
    /// `tap` indexing the channel's `kh * kw` weights; output column `ow` reads input column
    /// `ow * strideW + shift`.
    @inline(__always)
    func forEach(row oh: Int, _ body: (Int, Int, Range<Int>, Int) -> Void) {
        for ki in 0..<g.kernelH {
            let ih = oh * g.strideH - g.padH + ki
            guard ih >= 0 && ih < g.height else { continue }
            for (kj, c) in columns.enumerated() { body(ki * g.kernelW + kj, ih, c.outputs, c.shift) }
        }
    }
}

/// `y[c, n] = bias[c] + Σ w[c, ki, kj] · x[c, n, shifted]`, with the epilogue of `convForward`
/// (onto `y`'s residual when `accumulate`, then ReLU).
public func depthwiseConvForward(_ g: ConvGeometry, x: UnsafeBufferPointer<Float>, weight: UnsafeBufferPointer<Float>,
                                 bias: UnsafeBufferPointer<Float>?, y: UnsafeMutableBufferPointer<Float>,
                                 epilogue: ConvEpilogue = .none) {
    precondition(g.isDepthwise && x.count >= g.inputCount && y.count >= g.outputCount
                 && weight.count >= g.weightCount && (bias?.count ?? g.outChannels) >= g.outChannels, "depthwise conv: buffer too small")
    let (kh, kw, sw) = (g.kernelH, g.kernelW, g.strideW), inPlane = g.height * g.width, outPlane = g.outH * g.outW
    let xp = x.baseAddress!, wp = weight.baseAddress!, yp = y.baseAddress!, bp = bias?.baseAddress, taps = DepthwiseTaps(g)
    parallelFor(g.outChannels * g.n, workPerItem: outPlane * kh * kw) { planes in
        for plane in planes {
            let c = plane / g.n, xs = xp + plane * inPlane, ys = yp + plane * outPlane, w = wp + c * kh * kw
            let b = bp?[c] ?? 0
            for oh in 0..<g.outH {
                let yr = ys + oh * g.outW
                if epilogue.accumulate {
                    for ow in 0..<g.outW { yr[ow] += b }
                } else {
                    yr.update(repeating: b, count: g.outW)
                }
                taps.forEach(row: oh) { tap, ih, outputs, shift in
                    let xr = xs + ih * g.width, t = w[tap]
                    if sw == 1 {
                        axpy(t, xr + outputs.lowerBound + shift, yr + outputs.lowerBound, outputs.count)
                    } else {
                        for ow in outputs { yr[ow] += t * xr[ow &* sw &+ shift] }
                    }
                }
                if epilogue.relu { for ow in 0..<g.outW { yr[ow] = max(yr[ow], 0) } }
            }
        }
    }
}

/// `dx (+)= ∂L/∂x`: each output gradient spread back over the pixels its taps read.
public func depthwiseConvBackwardData(_ g: ConvGeometry, dy: UnsafeBufferPointer<Float>, weight: UnsafeBufferPointer<Float>,
                                      dx: UnsafeMutableBufferPointer<Float>, accumulate: Bool) {
    precondition(g.isDepthwise && dx.count >= g.inputCount && dy.count >= g.outputCount && weight.count >= g.weightCount,
                 "depthwise conv: buffer too small")
    let (kh, kw, sw) = (g.kernelH, g.kernelW, g.strideW), inPlane = g.height * g.width, outPlane = g.outH * g.outW
    let dyp = dy.baseAddress!, wp = weight.baseAddress!, dxp = dx.baseAddress!, taps = DepthwiseTaps(g)
    parallelFor(g.outChannels * g.n, workPerItem: outPlane * kh * kw) { planes in
        for plane in planes {
            let c = plane / g.n, dxs = dxp + plane * inPlane, dys = dyp + plane * outPlane, w = wp + c * kh * kw
            if !accumulate { dxs.update(repeating: 0, count: inPlane) }
            for oh in 0..<g.outH {
                let dyr = dys + oh * g.outW
                taps.forEach(row: oh) { tap, ih, outputs, shift in
                    let dxr = dxs + ih * g.width, t = w[tap]
                    if sw == 1 {
                        axpy(t, dyr + outputs.lowerBound, dxr + outputs.lowerBound + shift, outputs.count)
                    } else {
                        for ow in outputs { dxr[ow &* sw &+ shift] += t * dyr[ow] }
                    }
                }
            }
        }
    }
}

/// `dWeight = ∂L/∂w` and `dBias = ∂L/∂b` (overwritten), one channel per task: each tap sums its
/// products over the channel's images in one fixed order, so the result does not depend on the
/// number of threads.
public func depthwiseConvBackwardFilter(_ g: ConvGeometry, x: UnsafeBufferPointer<Float>, dy: UnsafeBufferPointer<Float>,
                                        dWeight: UnsafeMutableBufferPointer<Float>, dBias: UnsafeMutableBufferPointer<Float>?) {
    precondition(g.isDepthwise && x.count >= g.inputCount && dy.count >= g.outputCount && dWeight.count >= g.weightCount
                 && (dBias?.count ?? g.outChannels) >= g.outChannels, "depthwise conv: buffer too small")
    let (kh, kw, sw) = (g.kernelH, g.kernelW, g.strideW), inPlane = g.height * g.width, outPlane = g.outH * g.outW
    let xp = x.baseAddress!, dyp = dy.baseAddress!, dwp = dWeight.baseAddress!, taps = DepthwiseTaps(g)
    parallelFor(g.outChannels, workPerItem: g.n * outPlane * kh * kw) { channels in
        var sums = [Double](repeating: 0, count: kh * kw)
        for c in channels {
            for t in sums.indices { sums[t] = 0 }
            for n in 0..<g.n {
                let plane = c * g.n + n, xs = xp + plane * inPlane, dys = dyp + plane * outPlane
                for oh in 0..<g.outH {
                    let dyr = dys + oh * g.outW
                    taps.forEach(row: oh) { tap, ih, outputs, shift in
                        let xr = xs + ih * g.width
                        var sum: Float = 0
                        if sw == 1 {
                            sum = dot(dyr + outputs.lowerBound, xr + outputs.lowerBound + shift, outputs.count)
                        } else {
                            for ow in outputs { sum += dyr[ow] * xr[ow &* sw &+ shift] }
                        }
                        sums[tap] += Double(sum)
                    }
                }
            }
            for t in 0..<(kh * kw) { dwp[c * kh * kw + t] = Float(sums[t]) }
            dBias?[c] = Float(sumDouble(dyp + c * g.n * outPlane, g.n * outPlane))
        }
    }
}

/// `Σ a[i] * b[i]` in 8 lanes (a fixed order, so the same inputs always give the same sum).
@inline(__always)
private func dot(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ count: Int) -> Float {
    var acc = SIMD8<Float>(), i = 0
    while i + 8 <= count {
        acc += UnsafeRawPointer(a + i).loadUnaligned(as: SIMD8<Float>.self) * UnsafeRawPointer(b + i).loadUnaligned(as: SIMD8<Float>.self)
        i += 8
    }
    var sum = acc.sum()
    while i < count { sum += a[i] * b[i]; i += 1 }
    return sum
}

/// `y[i] += a * x[i]` over `count` floats, 8 lanes at a time (index arithmetic the optimiser
/// cannot prove safe keeps the plain loop scalar).
@inline(__always)
private func axpy(_ a: Float, _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, _ count: Int) {
    var i = 0
    let av = SIMD8<Float>(repeating: a)
    while i + 8 <= count {
        let v = UnsafeMutableRawPointer(y + i).loadUnaligned(as: SIMD8<Float>.self)
            + av * UnsafeRawPointer(x + i).loadUnaligned(as: SIMD8<Float>.self)
        UnsafeMutableRawPointer(y + i).storeBytes(of: v, as: SIMD8<Float>.self)
        i += 8
    }
    while i < count { y[i] += a * x[i]; i += 1 }
}
