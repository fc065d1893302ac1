// ReLU and the other elementwise activations; layout-agnostic (any contiguous tensor).
import Foundation

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
///
/// Written with explicit SIMD selects: as `y[i] > 0 ? dy[i] : 0` the load of `dy[i]` is
/// conditional, so LLVM does not vectorize the loop and the scalar branch mispredicts on about
/// half the elements (measured ~20x slower than the forward on ResNet-18 activations). Loading
/// both operands unconditionally and masking keeps it a bandwidth-bound loop.
public func reluBackward(y: UnsafeBufferPointer<Float>, dy: UnsafeBufferPointer<Float>,
                         dx: UnsafeMutableBufferPointer<Float>, accumulate: Bool) {
    precondition(dy.count >= y.count && dx.count >= y.count, "relu: buffer too small")
    if y.isEmpty { return }
    let yp = y.baseAddress!, dyp = dy.baseAddress!, dxp = dx.baseAddress!
    parallelFor(y.count) { r in
        var i = r.lowerBound
        let zero = SIMD8<Float>()
        while i + 8 <= r.upperBound {
            let yv = UnsafeRawPointer(yp + i).loadUnaligned(as: SIMD8<Float>.self)
            let g = UnsafeRawPointer(dyp + i).loadUnaligned(as: SIMD8<Float>.self)
            var v = zero.replacing(with: g, where: yv .> zero)
            if accumulate { v += UnsafeRawPointer(dxp + i).loadUnaligned(as: SIMD8<Float>.self) }
            UnsafeMutableRawPointer(dxp + i).storeBytes(of: v, as: SIMD8<Float>.self)
            i += 8
        }
        while i < r.upperBound {
            let v: Float = yp[i] > 0 ? dyp[i] : 0
            dxp[i] = accumulate ? dxp[i] + v : v
            i += 1
        }
    }
}

/// The elementwise activations beside ReLU, as PyTorch defines them, forward and backward (the
/// backward from the forward's input). `NetcIR.Activation` names them in the language.
public enum ActivationFunction: Sendable {
    case sigmoid, silu, hardSigmoid, hardSwish, relu6

    @inline(__always)
    static func logistic(_ x: Float) -> Float { 1 / (1 + expf(-x)) }

    @inline(__always)
    func value(_ x: Float) -> Float {
        switch self {
        case .sigmoid: Self.logistic(x)
        case .silu: x * Self.logistic(x)
        case .hardSigmoid: min(max(x + 3, 0), 6) / 6
        case .hardSwish: x * min(max(x + 3, 0), 6) / 6
        case .relu6: min(max(x, 0), 6)
        }
    }

    /// The derivative at `x`; at the kinks, PyTorch's choice (hardtanh's and hardsigmoid's
    /// gradient is 0 at the ends of their linear piece, hardswish's is x/3 + 1/2 on [-3, 3]).
    @inline(__always)
    func derivative(_ x: Float) -> Float {
        switch self {
        case .sigmoid: let s = Self.logistic(x); return s * (1 - s)
        case .silu: let s = Self.logistic(x); return s * (1 + x * (1 - s))
        case .hardSigmoid: return x > -3 && x < 3 ? 1.0 / 6 : 0
        case .hardSwish: return x < -3 ? 0 : x <= 3 ? x / 3 + 0.5 : 1
        case .relu6: return x > 0 && x < 6 ? 1 : 0
        }
    }
}

/// `y = x` where positive, `slope * x` elsewhere. `x` and `y` may be the same buffer.
public func leakyReluForward(slope: Float, x: UnsafeBufferPointer<Float>, y: UnsafeMutableBufferPointer<Float>) {
    precondition(y.count >= x.count, "leaky relu: output too small")
    if x.isEmpty { return }
    let xp = x.baseAddress!, yp = y.baseAddress!
    parallelFor(x.count) { r in
        for i in r { yp[i] = xp[i] > 0 ? xp[i] : slope * xp[i] }
    }
}

/// `dx (+)= dy` where the output is positive, `slope * dy` elsewhere. Reads the forward OUTPUT:
/// with a slope of at least 0, `y > 0` exactly where `x > 0` (PyTorch's choice at 0 included).
public func leakyReluBackward(slope: Float, y: UnsafeBufferPointer<Float>, dy: UnsafeBufferPointer<Float>,
                              dx: UnsafeMutableBufferPointer<Float>, accumulate: Bool) {
    precondition(slope >= 0 && dy.count >= y.count && dx.count >= y.count, "leaky relu: buffer too small or slope negative")
    if y.isEmpty { return }
    let yp = y.baseAddress!, dyp = dy.baseAddress!, dxp = dx.baseAddress!
    parallelFor(y.count) { r in
        for i in r {
            let v = yp[i] > 0 ? dyp[i] : slope * dyp[i]
            dxp[i] = accumulate ? dxp[i] + v : v
        }
    }
}

/// `y = f(x)`, elementwise.
public func activationForward(_ f: ActivationFunction, x: UnsafeBufferPointer<Float>, y: UnsafeMutableBufferPointer<Float>) {
    precondition(y.count >= x.count, "activation: output too small")
    if x.isEmpty { return }
    let xp = x.baseAddress!, yp = y.baseAddress!
    // The switch outside the loops, each loop with a constant function: with the switch inside
    // (or a closure per element) none vectorized, and ReLU6 ran 10x slower than ReLU.
    parallelFor(x.count) { r in
        switch f {
        case .sigmoid: for i in r { yp[i] = ActivationFunction.sigmoid.value(xp[i]) }
        case .silu: for i in r { yp[i] = ActivationFunction.silu.value(xp[i]) }
        case .hardSigmoid: for i in r { yp[i] = ActivationFunction.hardSigmoid.value(xp[i]) }
        case .hardSwish: for i in r { yp[i] = ActivationFunction.hardSwish.value(xp[i]) }
        case .relu6: for i in r { yp[i] = ActivationFunction.relu6.value(xp[i]) }
        }
    }
}

/// `dx (+)= dy * f'(x)`, from the forward's input `x`. Overwrites dx unless `accumulate`.
public func activationBackward(_ f: ActivationFunction, x: UnsafeBufferPointer<Float>, dy: UnsafeBufferPointer<Float>,
                               dx: UnsafeMutableBufferPointer<Float>, accumulate: Bool) {
    precondition(dy.count >= x.count && dx.count >= x.count, "activation: buffer too small")
    if x.isEmpty { return }
    let xp = x.baseAddress!, dyp = dy.baseAddress!, dxp = dx.baseAddress!
    // Not `keep * dx + ...`: an overwritten dx may hold NaN, and 0 * NaN is NaN.
    parallelFor(x.count) { r in
        if accumulate {
            switch f {
            case .sigmoid: for i in r { dxp[i] += dyp[i] * ActivationFunction.sigmoid.derivative(xp[i]) }
            case .silu: for i in r { dxp[i] += dyp[i] * ActivationFunction.silu.derivative(xp[i]) }
            case .hardSigmoid: for i in r { dxp[i] += dyp[i] * ActivationFunction.hardSigmoid.derivative(xp[i]) }
            case .hardSwish: for i in r { dxp[i] += dyp[i] * ActivationFunction.hardSwish.derivative(xp[i]) }
            case .relu6: for i in r { dxp[i] += dyp[i] * ActivationFunction.relu6.derivative(xp[i]) }
            }
        } else {
            switch f {
            case .sigmoid: for i in r { dxp[i] = dyp[i] * ActivationFunction.sigmoid.derivative(xp[i]) }
            case .silu: for i in r { dxp[i] = dyp[i] * ActivationFunction.silu.derivative(xp[i]) }
            case .hardSigmoid: for i in r { dxp[i] = dyp[i] * ActivationFunction.hardSigmoid.derivative(xp[i]) }
            case .hardSwish: for i in r { dxp[i] = dyp[i] * ActivationFunction.hardSwish.derivative(xp[i]) }
            case .relu6: for i in r { dxp[i] = dyp[i] * ActivationFunction.relu6.derivative(xp[i]) }
            }
        }
    }
}

/// Dropout's mask, drawn again wherever it is needed (forward and backward) from `key` and each
/// element's index, so nothing is stored and a fixed key gives the same mask: element `i` is kept
/// when a counter-based hash of (`key`, `i`), as a uniform number in [0, 1), is at least `p`.
@inline(__always)
func dropoutKeeps(_ key: UInt64, _ i: Int, threshold: UInt64) -> Bool {
    var z = key &+ UInt64(truncatingIfNeeded: i) &* 0x9E37_79B9_7F4A_7C15
    z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
    z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
    return (z ^ (z >> 31)) >= threshold
}

/// The mask's threshold: `p` of the 2^64 hash values lie below it.
@inline(__always)
func dropoutThreshold(_ p: Double) -> UInt64 { p <= 0 ? 0 : UInt64(min(p * 18_446_744_073_709_551_616.0, 18_446_744_073_709_549_568.0)) }

/// Training dropout: `y = x * mask / (1 - p)`. `x` and `y` may be the same buffer.
public func dropoutForward(p: Double, key: UInt64, x: UnsafeBufferPointer<Float>, y: UnsafeMutableBufferPointer<Float>) {
    precondition(y.count >= x.count && p >= 0 && p < 1, "dropout: output too small or p outside [0, 1)")
    if x.isEmpty { return }
    let xp = x.baseAddress!, yp = y.baseAddress!, threshold = dropoutThreshold(p), scale = Float(1 / (1 - p))
    parallelFor(x.count) { r in for i in r { yp[i] = dropoutKeeps(key, i, threshold: threshold) ? xp[i] * scale : 0 } }
}

/// `dx (+)= dy * mask / (1 - p)`, the mask drawn from the forward's `key`.
public func dropoutBackward(p: Double, key: UInt64, dy: UnsafeBufferPointer<Float>, dx: UnsafeMutableBufferPointer<Float>,
                            accumulate: Bool) {
    precondition(dx.count >= dy.count, "dropout: buffer too small")
    if dy.isEmpty { return }
    let dyp = dy.baseAddress!, dxp = dx.baseAddress!, threshold = dropoutThreshold(p), scale = Float(1 / (1 - p))
    parallelFor(dy.count) { r in
        for i in r {
            let g = dropoutKeeps(key, i, threshold: threshold) ? dyp[i] * scale : 0
            dxp[i] = accumulate ? dxp[i] + g : g
        }
    }
}
