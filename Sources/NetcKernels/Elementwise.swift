// Layout-agnostic elementwise kernels and the optimizers' update steps.
import Foundation


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

/// One step of `torch.optim.AdamW` on a parameter tensor, in PyTorch's order (its
/// single-tensor path; the scalars in double, as Python computes them):
/// ```
/// p *= 1 - lr * weightDecay                       (decoupled weight decay)
/// m += (1 - beta1) * (g - m)                      (exp_avg.lerp_(g, 1 - beta1))
/// v = beta2 * v + (1 - beta2) * g * g
/// p -= lr / (1 - beta1^t) * m / (sqrt(v) / sqrt(1 - beta2^t) + eps)
/// ```
/// - Parameters:
///   - step: this step's number, from 1 (the bias corrections count it).
///   - firstMoment, secondMoment: `exp_avg` and `exp_avg_sq`, zero before the first step.
public func adamwStep(param: UnsafeMutableBufferPointer<Float>, grad: UnsafeBufferPointer<Float>,
                      firstMoment: UnsafeMutableBufferPointer<Float>, secondMoment: UnsafeMutableBufferPointer<Float>,
                      step: Int, learningRate lr: Double, beta1: Double, beta2: Double, epsilon: Double, weightDecay: Double) {
    precondition(step >= 1 && grad.count >= param.count && firstMoment.count >= param.count && secondMoment.count >= param.count,
                 "adamw: buffers too small or step below 1")
    if param.isEmpty { return }
    let p = param.baseAddress!, g = grad.baseAddress!, m = firstMoment.baseAddress!, v = secondMoment.baseAddress!
    let decay = Float(1 - lr * weightDecay), a = Float(1 - beta1), b2 = Float(beta2), c2 = Float(1 - beta2)
    let stepSize = Float(lr / (1 - pow(beta1, Double(step))))
    let correction2 = Float((1 - pow(beta2, Double(step))).squareRoot()), eps = Float(epsilon)
    parallelFor(param.count) { r in
        for i in r {
            let gi = g[i]
            let mi = m[i] + a * (gi - m[i])
            let vi = b2 * v[i] + c2 * gi * gi
            m[i] = mi
            v[i] = vi
            p[i] = p[i] * decay - stepSize * (mi / (vi.squareRoot() / correction2 + eps))
        }
    }
}
