// The joins of a block graph other than add: a per-plane product (squeeze-and-excitation's gate)
// and concatenation along channels (Inception). Both work on the runtime's CNHW layout, where a
// channel's values for the whole batch are one contiguous run.

/// `y[p, i] = x[p, i] * scale[p]` over `planes` planes of `spatial` values: a CxHxW map times a
/// Cx1x1 scale is `C * N` planes of `H * W`; two equal shapes are `count` planes of 1.
/// `y` may alias `x`.
public func scalePlanes(x: UnsafeBufferPointer<Float>, scale: UnsafeBufferPointer<Float>,
                        y: UnsafeMutableBufferPointer<Float>, planes: Int, spatial: Int) {
    precondition(x.count >= planes * spatial && y.count >= planes * spatial && scale.count >= planes, "scalePlanes: buffer too small")
    if planes * spatial == 0 { return }
    let xp = x.baseAddress!, sp = scale.baseAddress!, yp = y.baseAddress!
    if spatial == 1 {
        parallelFor(planes) { r in for i in r { yp[i] = xp[i] * sp[i] } }
        return
    }
    parallelFor(planes, workPerItem: spatial) { r in
        for p in r {
            let s = sp[p], row = p * spatial
            for i in row..<(row + spatial) { yp[i] = xp[i] * s }
        }
    }
}

/// The gradients of `scalePlanes`: `dx[p, i] = dy[p, i] * scale[p]` and
/// `dScale[p] = Σ_i dy[p, i] * x[p, i]` (summed in Double over a plane), each written or, with
/// its `accumulate` flag, added; either may be nil when that input needs no gradient.
/// `x * x` passes one buffer as both: `dx` is written before `dScale` adds to it, plane by plane,
/// and the caller's flags (the first operand writes, the second accumulates) make that the sum.
public func scalePlanesBackward(x: UnsafeBufferPointer<Float>, scale: UnsafeBufferPointer<Float>, dy: UnsafeBufferPointer<Float>,
                                dx: UnsafeMutableBufferPointer<Float>?, accumulateX: Bool,
                                dScale: UnsafeMutableBufferPointer<Float>?, accumulateScale: Bool,
                                planes: Int, spatial: Int) {
    let count = planes * spatial
    precondition(x.count >= count && dy.count >= count && scale.count >= planes
                 && (dx?.count ?? count) >= count && (dScale?.count ?? planes) >= planes, "scalePlanesBackward: buffer too small")
    if count == 0 { return }
    let xp = x.baseAddress!, sp = scale.baseAddress!, g = dy.baseAddress!
    parallelFor(planes, workPerItem: spatial) { r in
        for p in r {
            let row = p * spatial
            if let dx = dx?.baseAddress {
                let s = sp[p]
                if accumulateX {
                    for i in row..<(row + spatial) { dx[i] += g[i] * s }
                } else {
                    for i in row..<(row + spatial) { dx[i] = g[i] * s }
                }
            }
            if let ds = dScale?.baseAddress {
                var sum = 0.0
                for i in row..<(row + spatial) { sum += Double(g[i] * xp[i]) }
                ds[p] = accumulateScale ? ds[p] + Float(sum) : Float(sum)
            }
        }
    }
}

/// Stacks CNHW tensors along channels: in this layout each input is one contiguous block of
/// the output, in order.
public func concatChannels(_ inputs: [UnsafeBufferPointer<Float>], into y: UnsafeMutableBufferPointer<Float>) {
    precondition(inputs.reduce(0) { $0 + $1.count } <= y.count, "concatChannels: output too small")
    var offset = 0
    for x in inputs where !x.isEmpty {
        (y.baseAddress! + offset).update(from: x.baseAddress!, count: x.count)
        offset += x.count
    }
}

/// The gradient of `concatChannels`: each input's block of `dy`, written or (its flag) added;
/// nil for an input that needs no gradient.
public func concatChannelsBackward(_ dy: UnsafeBufferPointer<Float>,
                                   into dxs: [(gradient: UnsafeMutableBufferPointer<Float>?, count: Int, accumulate: Bool)]) {
    precondition(dxs.reduce(0) { $0 + $1.count } <= dy.count, "concatChannelsBackward: gradient too small")
    var offset = 0
    for (dx, count, accumulate) in dxs {
        defer { offset += count }
        guard let dx, count > 0 else { continue }
        let block = UnsafeBufferPointer(rebasing: dy[offset..<(offset + count)])
        if accumulate {
            NetcKernels.accumulate(block, into: dx)
        } else {
            dx.baseAddress!.update(from: block.baseAddress!, count: count)
        }
    }
}
