// ReLU; layout-agnostic (any contiguous tensor).

/// `y = max(x, 0)`. `x` and `y` may be the same buffer (in-place).
public func reluForward(x: UnsafeBufferPointer<Float>, y: UnsafeMutableBufferPointer<Float>) {
    precondition(y.count >= x.count, "relu: output too small")
    if x.isEmpty { return }
    let xp = x.baseAddress!, yp = y.baseAddress!
    parallelFor(x.count) { r in
        for i in r { yp[i] = max(xp[i], 0) }
    }
}

/// `dx (+)= dy where y > 0, else 0`, using the forward OUTPUT `y` (so x need not be kept;
/// y > 0 exactly when x > 0). Overwrites dx unless `accumulate`.
public func reluBackward(y: UnsafeBufferPointer<Float>, dy: UnsafeBufferPointer<Float>,
                         dx: UnsafeMutableBufferPointer<Float>, accumulate: Bool) {
    precondition(dy.count >= y.count && dx.count >= y.count, "relu: buffer too small")
    if y.isEmpty { return }
    let yp = y.baseAddress!, dyp = dy.baseAddress!, dxp = dx.baseAddress!
    parallelFor(y.count) { r in
        if accumulate {
            for i in r { dxp[i] += yp[i] > 0 ? dyp[i] : 0 }
        } else {
            for i in r { dxp[i] = yp[i] > 0 ? dyp[i] : 0 }
        }
    }
}
