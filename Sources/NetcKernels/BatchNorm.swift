// Batch normalisation over CNHW activations (or [F, N] features): channel c owns the
// contiguous run x[c, 0..<M] with M = N*H*W, so every statistic is a 1-D reduction.

/// Training-mode forward with batch statistics, PyTorch semantics.
///
/// `y = (x - mean) / sqrt(var + eps) * gamma + beta` with the biased batch variance;
/// running stats become `(1 - momentum) * running + momentum * batch`, where the running
/// variance takes the UNBIASED batch variance (`var * M / (M - 1)`).
/// - Parameters:
///   - x, y: `[C, M]` (`M` = `perChannel` = N*H*W).
///   - gamma, beta, runningMean, runningVar, saveMean, saveInvStd: `[C]`.
///     `saveMean` / `saveInvStd` receive the batch mean and `1/sqrt(var + eps)` for backward.
///   - relu: write `max(y, 0)` (the ReLU after the batch norm, fused; its backward is
///     `batchNormBackward(..., reluOutput: y)`).
public func batchNormForwardTraining(
    x: UnsafeBufferPointer<Float>, y: UnsafeMutableBufferPointer<Float>,
    channels: Int, perChannel m: Int,
    gamma: UnsafeBufferPointer<Float>, beta: UnsafeBufferPointer<Float>,
    epsilon: Float, momentum: Float,
    runningMean: UnsafeMutableBufferPointer<Float>, runningVar: UnsafeMutableBufferPointer<Float>,
    saveMean: UnsafeMutableBufferPointer<Float>, saveInvStd: UnsafeMutableBufferPointer<Float>,
    relu: Bool = false
) {
    precondition(m >= 1 && x.count >= channels * m && y.count >= channels * m, "batchnorm: bad buffers")
    precondition([gamma.count, beta.count, runningMean.count, runningVar.count,
                  saveMean.count, saveInvStd.count].allSatisfy { $0 >= channels }, "batchnorm: per-channel buffer too small")
    let xp = x.baseAddress!, yp = y.baseAddress!
    let gp = gamma.baseAddress!, bp = beta.baseAddress!
    let rm = runningMean.baseAddress!, rv = runningVar.baseAddress!
    let sm = saveMean.baseAddress!, si = saveInvStd.baseAddress!
    parallelFor(channels, workPerItem: 3 * m) { range in
        for c in range {
            let xc = xp + c * m, yc = yp + c * m
            // Two passes (mean, then squared deviations) avoid E[x²]-E[x]² cancellation.
            let mean = sumDouble(xc, m) / Double(m)
            let sq = sumSquaredDeviation(xc, m, Float(mean))
            let variance = sq / Double(m)
            let invStd = 1 / (variance + Double(epsilon)).squareRoot()
            sm[c] = Float(mean); si[c] = Float(invStd)
            let unbiased = m > 1 ? sq / Double(m - 1) : variance
            rm[c] = (1 - momentum) * rm[c] + momentum * Float(mean)
            rv[c] = (1 - momentum) * rv[c] + momentum * Float(unbiased)
            // y = x * scale + shift, one FMA-able op per element.
            let scale = gp[c] * Float(invStd), shift = bp[c] - Float(mean) * scale
            if relu {
                for i in 0..<m { yc[i] = max(xc[i] * scale + shift, 0) }
            } else {
                for i in 0..<m { yc[i] = xc[i] * scale + shift }
            }
        }
    }
}

/// Inference-mode forward: normalises with the running statistics, then clamps at zero when
/// `relu` (a ReLU fused into the same pass).
/// - Parameters: x, y: `[C, M]` (may be the same buffer); gamma, beta, runningMean, runningVar: `[C]`.
public func batchNormForwardInference(
    x: UnsafeBufferPointer<Float>, y: UnsafeMutableBufferPointer<Float>,
    channels: Int, perChannel m: Int,
    gamma: UnsafeBufferPointer<Float>, beta: UnsafeBufferPointer<Float>,
    runningMean: UnsafeBufferPointer<Float>, runningVar: UnsafeBufferPointer<Float>, epsilon: Float,
    relu: Bool = false
) {
    precondition(x.count >= channels * m && y.count >= channels * m, "batchnorm: bad buffers")
    let xp = x.baseAddress!, yp = y.baseAddress!
    parallelFor(channels, workPerItem: m) { range in
        for c in range {
            let scale = gamma[c] / (runningVar[c] + epsilon).squareRoot()
            let shift = beta[c] - runningMean[c] * scale
            let xc = xp + c * m, yc = yp + c * m
            if relu {
                for i in 0..<m { yc[i] = max(xc[i] * scale + shift, 0) }
            } else {
                for i in 0..<m { yc[i] = xc[i] * scale + shift }
            }
        }
    }
}

/// Backward of training-mode batch norm (batch statistics are functions of x).
///
/// With x̂ = (x - mean) * invStd:
/// `dx = gamma * invStd * (dy - mean(dy) - x̂ * mean(dy * x̂))`,
/// `dGamma = Σ dy * x̂`, `dBeta = Σ dy`.
/// With `reluBeta` (the forward ran with `relu: true`; this is its beta), `dy` is the gradient of
/// the ReLU's output and the batch norm's own is `dy` where `y > 0`, else 0: the ReLU's
/// backward folded into both passes, so its gradient never goes to memory. `y > 0` is
/// recomputed from x exactly as the forward computed it, so y itself need not be kept.
/// - Parameters:
///   - x, dy, dx: `[C, M]`; dx is overwritten, or added to when `accumulate`.
///   - gamma, saveMean, saveInvStd, dGamma, dBeta: `[C]` (dGamma, dBeta overwritten).
///   - reluBeta: `[C]`, the batch norm's beta when the ReLU is fused, or nil.
public func batchNormBackward(
    x: UnsafeBufferPointer<Float>, dy: UnsafeBufferPointer<Float>, dx: UnsafeMutableBufferPointer<Float>,
    channels: Int, perChannel m: Int,
    gamma: UnsafeBufferPointer<Float>, saveMean: UnsafeBufferPointer<Float>, saveInvStd: UnsafeBufferPointer<Float>,
    dGamma: UnsafeMutableBufferPointer<Float>, dBeta: UnsafeMutableBufferPointer<Float>,
    accumulate: Bool, reluBeta: UnsafeBufferPointer<Float>? = nil
) {
    precondition(x.count >= channels * m && dy.count >= channels * m && dx.count >= channels * m,
                 "batchnorm: bad buffers")
    precondition(reluBeta.map { $0.count >= channels } ?? true, "batchnorm: per-channel buffer too small")
    if let reluBeta {
        batchNormReLUBackward(x: x, dy: dy, beta: reluBeta, dx: dx, channels: channels, perChannel: m, gamma: gamma,
                              saveMean: saveMean, saveInvStd: saveInvStd, dGamma: dGamma, dBeta: dBeta, accumulate: accumulate)
        return
    }
    precondition(dGamma.count >= channels && dBeta.count >= channels, "batchnorm: per-channel buffer too small")
    let xp = x.baseAddress!, dyp = dy.baseAddress!, dxp = dx.baseAddress!
    let dgp = dGamma.baseAddress!, dbp = dBeta.baseAddress!
    parallelFor(channels, workPerItem: 3 * m) { range in
        for c in range {
            let xc = xp + c * m, dyc = dyp + c * m, dxc = dxp + c * m
            let mean = saveMean[c], invStd = saveInvStd[c]
            let sumDy = sumDouble(dyc, m)
            let sumDyXc = dotDeviation(dyc, xc, m, mean)          // Σ dy * (x - mean)
            dbp[c] = Float(sumDy)
            dgp[c] = Float(sumDyXc * Double(invStd))
            // dx = k * (dy - meanDy - (x - mean) * invStd² * meanDyXc), k = gamma * invStd
            let k = gamma[c] * invStd
            let meanDy = Float(sumDy / Double(m))
            let coef = Float(sumDyXc / Double(m)) * invStd * invStd
            if accumulate {
                for i in 0..<m { dxc[i] += k * (dyc[i] - meanDy - (xc[i] - mean) * coef) }
            } else {
                for i in 0..<m { dxc[i] = k * (dyc[i] - meanDy - (xc[i] - mean) * coef) }
            }
        }
    }
}

/// `batchNormBackward` through a fused ReLU: `dz = y > 0 ? dy : 0` with `y = x * scale + shift`
/// recomputed as the forward computed it (same operations, so the same bits), in SIMD selects (a
/// branch would keep LLVM from vectorizing, as in `reluBackward`).
private func batchNormReLUBackward(
    x: UnsafeBufferPointer<Float>, dy: UnsafeBufferPointer<Float>, beta: UnsafeBufferPointer<Float>,
    dx: UnsafeMutableBufferPointer<Float>, channels: Int, perChannel m: Int,
    gamma: UnsafeBufferPointer<Float>, saveMean: UnsafeBufferPointer<Float>, saveInvStd: UnsafeBufferPointer<Float>,
    dGamma: UnsafeMutableBufferPointer<Float>, dBeta: UnsafeMutableBufferPointer<Float>, accumulate: Bool
) {
    let xp = x.baseAddress!, dyp = dy.baseAddress!, dxp = dx.baseAddress!
    let dgp = dGamma.baseAddress!, dbp = dBeta.baseAddress!
    parallelFor(channels, workPerItem: 4 * m) { range in
        for c in range {
            let xc = xp + c * m, dyc = dyp + c * m, dxc = dxp + c * m
            let mean = saveMean[c], invStd = saveInvStd[c]
            // The forward's scale and shift, computed the same way (batchNormForwardTraining).
            let scale = gamma[c] * invStd, shift = beta[c] - mean * scale
            let (sumDz, sumDzXc) = maskedSums(dyc, xc, scale, shift, m, mean)   // Σ dz, Σ dz * (x - mean)
            dbp[c] = Float(sumDz)
            dgp[c] = Float(sumDzXc * Double(invStd))
            let k = gamma[c] * invStd, meanDz = Float(sumDz / Double(m))
            let coef = Float(sumDzXc / Double(m)) * invStd * invStd
            let zero = SIMD8<Float>(), kv = SIMD8<Float>(repeating: k), mv = SIMD8<Float>(repeating: mean)
            let meanv = SIMD8<Float>(repeating: meanDz), coefv = SIMD8<Float>(repeating: coef)
            let sv = SIMD8<Float>(repeating: scale), tv = SIMD8<Float>(repeating: shift)
            var i = 0
            while i + 8 <= m {
                let xv = UnsafeRawPointer(xc + i).loadUnaligned(as: SIMD8<Float>.self)
                let yv = xv * sv + tv
                let dz = UnsafeRawPointer(dyc + i).loadUnaligned(as: SIMD8<Float>.self).replacing(with: zero, where: .!(yv .> zero))
                var d = kv * (dz - meanv - (xv - mv) * coefv)
                if accumulate { d += UnsafeRawPointer(dxc + i).loadUnaligned(as: SIMD8<Float>.self) }
                UnsafeMutableRawPointer(dxc + i).storeBytes(of: d, as: SIMD8<Float>.self)
                i += 8
            }
            while i < m {
                let dz = xc[i] * scale + shift > 0 ? dyc[i] : 0
                let d = k * (dz - meanDz - (xc[i] - mean) * coef)
                dxc[i] = accumulate ? dxc[i] + d : d
                i += 1
            }
        }
    }
}

/// `(Σ dz, Σ dz * (x - mean))` with `dz = x * scale + shift > 0 ? dy : 0`, blocked like `sumDouble`.
@inline(__always)
func maskedSums(_ dy: UnsafePointer<Float>, _ x: UnsafePointer<Float>, _ scale: Float, _ shift: Float,
                _ count: Int, _ mean: Float) -> (Double, Double) {
    var total = 0.0, totalXc = 0.0, i = 0
    let mv = SIMD8<Float>(repeating: mean), zero = SIMD8<Float>()
    let sv = SIMD8<Float>(repeating: scale), tv = SIMD8<Float>(repeating: shift)
    while i < count {
        let end = min(count, i + 1024)
        var acc = SIMD8<Float>(), accXc = SIMD8<Float>()
        while i + 8 <= end {
            let xv = UnsafeRawPointer(x + i).loadUnaligned(as: SIMD8<Float>.self)
            let dz = UnsafeRawPointer(dy + i).loadUnaligned(as: SIMD8<Float>.self).replacing(with: zero, where: .!(xv * sv + tv .> zero))
            acc += dz
            accXc += dz * (xv - mv)
            i += 8
        }
        var part = Double(acc.sum()), partXc = Double(accXc.sum())
        while i < end {
            let dz = x[i] * scale + shift > 0 ? dy[i] : 0
            part += Double(dz); partXc += Double(dz * (x[i] - mean)); i += 1
        }
        total += part; totalXc += partXc
    }
    return (total, totalXc)
}

/// Σ (p[i] - mean)², Float SIMD lanes within 1024-blocks, Double across blocks.
@inline(__always)
func sumSquaredDeviation(_ p: UnsafePointer<Float>, _ count: Int, _ mean: Float) -> Double {
    var total = 0.0, i = 0
    let mv = SIMD8<Float>(repeating: mean)
    while i < count {
        let end = min(count, i + 1024)
        var acc = SIMD8<Float>()
        while i + 8 <= end {
            let d = UnsafeRawPointer(p + i).loadUnaligned(as: SIMD8<Float>.self) - mv
            acc += d * d
            i += 8
        }
        var part = Double(acc.sum())
        while i < end { let d = Double(p[i] - mean); part += d * d; i += 1 }
        total += part
    }
    return total
}

/// Σ a[i] * (b[i] - mean), blocked like `sumDouble`.
@inline(__always)
func dotDeviation(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ count: Int, _ mean: Float) -> Double {
    var total = 0.0, i = 0
    let mv = SIMD8<Float>(repeating: mean)
    while i < count {
        let end = min(count, i + 1024)
        var acc = SIMD8<Float>()
        while i + 8 <= end {
            let va = UnsafeRawPointer(a + i).loadUnaligned(as: SIMD8<Float>.self)
            let vb = UnsafeRawPointer(b + i).loadUnaligned(as: SIMD8<Float>.self)
            acc += va * (vb - mv)
            i += 8
        }
        var part = Double(acc.sum())
        while i < end { part += Double(a[i] * (b[i] - mean)); i += 1 }
        total += part
    }
    return total
}
