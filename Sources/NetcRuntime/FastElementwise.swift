import NetcKernels

// Runtime-side variants of elementwise kernels whose NetcKernels versions were measured to be
// slow inside a training step. Candidates to move into NetcKernels.

/// ReLU backward, `dx (+)= y > 0 ? dy : 0`, written with explicit SIMD selects.
///
/// NetcKernels' `reluBackward` writes the select as `y > 0 ? dy[i] : 0`; because the load of
/// `dy[i]` is conditional, LLVM does not vectorize it and the scalar loop mispredicts on about
/// half the elements (measured ~20x slower than the forward on ResNet-18 activations). Loading
/// both operands unconditionally and masking keeps it a bandwidth-bound loop.
func reluBackwardSIMD(y: UnsafeBufferPointer<Float>, dy: UnsafeBufferPointer<Float>,
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
