// Layout-agnostic elementwise kernels and the optimizer step.

/// `y = a + b` (residual joins), or `max(a + b, 0)` when `relu` (the ReLU after a join, fused).
/// `y` may alias `a` or `b`.
public func add(_ a: UnsafeBufferPointer<Float>, _ b: UnsafeBufferPointer<Float>, into y: UnsafeMutableBufferPointer<Float>,
                relu: Bool = false) {
    precondition(b.count >= a.count && y.count >= a.count, "add: buffer too small")
    if a.isEmpty { return }
    let ap = a.baseAddress!, bp = b.baseAddress!, yp = y.baseAddress!
    if relu {
        parallelFor(a.count) { r in for i in r { yp[i] = max(ap[i] + bp[i], 0) } }
    } else {
        parallelFor(a.count) { r in for i in r { yp[i] = ap[i] + bp[i] } }
    }
}

/// `y += x` (gradient accumulation).
public func accumulate(_ x: UnsafeBufferPointer<Float>, into y: UnsafeMutableBufferPointer<Float>) {
    axpy(1, x, y)
}

/// `y += alpha * x`.
public func axpy(_ alpha: Float, _ x: UnsafeBufferPointer<Float>, _ y: UnsafeMutableBufferPointer<Float>) {
    precondition(y.count >= x.count, "axpy: buffer too small")
    if x.isEmpty { return }
    let xp = x.baseAddress!, yp = y.baseAddress!
    parallelFor(x.count) { r in for i in r { yp[i] += alpha * xp[i] } }
}

/// `x *= alpha`.
public func scale(_ x: UnsafeMutableBufferPointer<Float>, by alpha: Float) {
    if x.isEmpty { return }
    let xp = x.baseAddress!
    parallelFor(x.count) { r in for i in r { xp[i] *= alpha } }
}

/// `x[:] = value`.
public func fill(_ x: UnsafeMutableBufferPointer<Float>, with value: Float) {
    if x.isEmpty { return }
    let xp = x.baseAddress!
    parallelFor(x.count) { r in (xp + r.lowerBound).update(repeating: value, count: r.count) }
}

/// One step of `torch.optim.SGD` on a parameter tensor, same arithmetic order:
/// ```
/// d_p = g + weightDecay * p
/// if momentum != 0:
///     buf = d_p                                   on the first step
///     buf = momentum * buf + (1 - dampening) * d_p  afterwards
///     d_p = nesterov ? d_p + momentum * buf : buf
/// p -= lr * d_p
/// ```
/// - Parameters:
///   - momentumBuffer: same count as `param`; may be nil only when `momentum == 0`.
///   - isFirstStep: true on the first step for this parameter (PyTorch's "buffer is None").
public func sgdStep(param: UnsafeMutableBufferPointer<Float>, grad: UnsafeBufferPointer<Float>,
                    momentumBuffer: UnsafeMutableBufferPointer<Float>?,
                    learningRate lr: Float, momentum: Float = 0, weightDecay: Float = 0,
                    dampening: Float = 0, nesterov: Bool = false, isFirstStep: Bool) {
    precondition(grad.count >= param.count, "sgd: grad too small")
    if param.isEmpty { return }
    let p = param.baseAddress!, g = grad.baseAddress!
    if momentum == 0 {
        parallelFor(param.count) { r in
            for i in r { let d = g[i] + weightDecay * p[i]; p[i] = p[i] - lr * d }
        }
        return
    }
    guard let momentumBuffer else { preconditionFailure("sgd: momentum needs a buffer") }
    precondition(momentumBuffer.count >= param.count, "sgd: momentum buffer too small")
    let buf = momentumBuffer.baseAddress!
    let keep = 1 - dampening
    // Separate loops for the first step: written as `isFirstStep ? d : momentum * buf[i] + ...`
    // the load of buf[i] is conditional and LLVM leaves the loop scalar (the same trap as
    // ReLU backward's select). The nesterov select only picks between computed values.
    parallelFor(param.count) { r in
        if isFirstStep {
            for i in r {
                let d = g[i] + weightDecay * p[i]
                buf[i] = d
                let step = nesterov ? d + momentum * d : d
                p[i] = p[i] - lr * step
            }
        } else {
            for i in r {
                let d = g[i] + weightDecay * p[i]
                let b = momentum * buf[i] + keep * d
                buf[i] = b
                let step = nesterov ? d + momentum * b : b
                p[i] = p[i] - lr * step
            }
        }
    }
}
