// Batch normalisation over CNHW activations (or [F, N] features): channel c owns the
// contiguous run x[c, 0..<M] with M = N*H*W, so every statistic is a 1-D reduction.

/// Sums per-channel statistics, in place, over every process holding a part of the batch
/// (synchronised batch norm across data-parallel ranks). Called on the calling thread, between
/// the kernels' parallel passes.
public typealias BatchStatisticsSum = (UnsafeMutableBufferPointer<Double>) -> Void

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
///     `batchNormBackward(..., reluBeta: beta)`).
///   - sum: for a batch split across processes, adds up their per-channel sums, so that each
///     part is normalised with the whole batch's statistics (synchronised batch norm).
public func batchNormForwardTraining(
    x: UnsafeBufferPointer<Float>, y: UnsafeMutableBufferPointer<Float>,
    channels: Int, perChannel m: Int,
    gamma: UnsafeBufferPointer<Float>, beta: UnsafeBufferPointer<Float>,
    epsilon: Float, momentum: Float,
    runningMean: UnsafeMutableBufferPointer<Float>, runningVar: UnsafeMutableBufferPointer<Float>,
    saveMean: UnsafeMutableBufferPointer<Float>, saveInvStd: UnsafeMutableBufferPointer<Float>,
    relu: Bool = false, across sum: BatchStatisticsSum? = nil
) {
    precondition(m >= 1 && x.count >= channels * m && y.count >= channels * m, "batchnorm: bad buffers")
    precondition([gamma.count, beta.count, runningMean.count, runningVar.count,
                  saveMean.count, saveInvStd.count].allSatisfy { $0 >= channels }, "batchnorm: per-channel buffer too small")
    let xp = x.baseAddress!, yp = y.baseAddress!
    let gp = gamma.baseAddress!, bp = beta.baseAddress!
    let rm = runningMean.baseAddress!, rv = runningVar.baseAddress!
    let sm = saveMean.baseAddress!, si = saveInvStd.baseAddress!
    /// Normalises channel c with the batch's mean and sum of squared deviations over `count` values.
    func normalize(_ c: Int, mean: Double, squaredDeviations sq: Double, count: Double) {
        let xc = xp + c * m, yc = yp + c * m
        let variance = sq / count
        let invStd = 1 / (variance + Double(epsilon)).squareRoot()
        sm[c] = Float(mean); si[c] = Float(invStd)
        let unbiased = count > 1 ? sq / (count - 1) : variance
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
    guard let sum else {
        parallelFor(channels, workPerItem: 3 * m) { range in
            for c in range {
                // Two passes (mean, then squared deviations) avoid E[x²]-E[x]² cancellation.
                let mean = sumDouble(xp + c * m, m) / Double(m)
                normalize(c, mean: mean, squaredDeviations: sumSquaredDeviation(xp + c * m, m, Float(mean)), count: Double(m))
            }
        }
        return
    }
    // The same two passes over a batch split across processes, each pass's sums added up over them.
    let totals = UnsafeMutableBufferPointer<Double>.allocate(capacity: channels + 1)
    defer { totals.deallocate() }
    parallelFor(channels, workPerItem: m) { range in
        for c in range { totals[c] = sumDouble(xp + c * m, m) }
    }
    totals[channels] = Double(m)
    sum(totals)
    let count = totals[channels], means = (0..<channels).map { totals[$0] / count }
    parallelFor(channels, workPerItem: m) { range in
        for c in range { totals[c] = sumSquaredDeviation(xp + c * m, m, Float(means[c])) }
    }
    totals[channels] = 0
    sum(totals)
    parallelFor(channels, workPerItem: 2 * m) { range in
        for c in range { normalize(c, mean: means[c], squaredDeviations: totals[c], count: count) }
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
///   - sum: as in the forward; dx then follows the whole batch's statistics, while dGamma and
///     dBeta hold this part's share (summed over the processes with the other gradients).
public func batchNormBackward(
    x: UnsafeBufferPointer<Float>, dy: UnsafeBufferPointer<Float>, dx: UnsafeMutableBufferPointer<Float>,
    channels: Int, perChannel m: Int,
    gamma: UnsafeBufferPointer<Float>, saveMean: UnsafeBufferPointer<Float>, saveInvStd: UnsafeBufferPointer<Float>,
    dGamma: UnsafeMutableBufferPointer<Float>, dBeta: UnsafeMutableBufferPointer<Float>,
    accumulate: Bool, reluBeta: UnsafeBufferPointer<Float>? = nil, across sum: BatchStatisticsSum? = nil
) {
    precondition(x.count >= channels * m && dy.count >= channels * m && dx.count >= channels * m,
                 "batchnorm: bad buffers")
    precondition(reluBeta.map { $0.count >= channels } ?? true, "batchnorm: per-channel buffer too small")
    precondition(dGamma.count >= channels && dBeta.count >= channels, "batchnorm: per-channel buffer too small")
    let xp = x.baseAddress!, dyp = dy.baseAddress!, dxp = dx.baseAddress!
    let dgp = dGamma.baseAddress!, dbp = dBeta.baseAddress!
    /// `(Σ dy, Σ dy * (x - mean))` over channel c's values here, with dy masked by the fused ReLU;
    /// also writes them as the channel's dBeta and dGamma.
    func channelSums(_ c: Int) -> (Double, Double) {
        let xc = xp + c * m, dyc = dyp + c * m, mean = saveMean[c], invStd = saveInvStd[c]
        let sums: (Double, Double)
        if let reluBeta {
            // The forward's scale and shift, computed the same way (batchNormForwardTraining).
            let scale = gamma[c] * invStd, shift = reluBeta[c] - mean * scale
            sums = maskedSums(dyc, xc, scale, shift, m, mean)
        } else {
            sums = (sumDouble(dyc, m), dotDeviation(dyc, xc, m, mean))
        }
        dbp[c] = Float(sums.0)
        dgp[c] = Float(sums.1 * Double(invStd))
        return sums
    }
    /// dx = k * (dz - mean(dz) - (x - mean) * invStd² * mean(dz * (x - mean))), k = gamma * invStd,
    /// from the batch's sums over `count` values.
    func applyGradient(_ c: Int, sumDz: Double, sumDzXc: Double, count: Double) {
        let xc = xp + c * m, dyc = dyp + c * m, dxc = dxp + c * m
        let mean = saveMean[c], invStd = saveInvStd[c]
        let k = gamma[c] * invStd, meanDz = Float(sumDz / count)
        let coef = Float(sumDzXc / count) * invStd * invStd
        guard let reluBeta else {
            if accumulate {
                for i in 0..<m { dxc[i] += k * (dyc[i] - meanDz - (xc[i] - mean) * coef) }
            } else {
                for i in 0..<m { dxc[i] = k * (dyc[i] - meanDz - (xc[i] - mean) * coef) }
            }
            return
        }
        // dz = y > 0 ? dy : 0, y recomputed as the forward computed it (same operations, so the
        // same bits), in SIMD selects (a branch would keep LLVM from vectorizing, as in `reluBackward`).
        let scale = gamma[c] * invStd, shift = reluBeta[c] - mean * scale
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
    guard let sum else {
        parallelFor(channels, workPerItem: 4 * m) { range in
            for c in range {
                let (sumDz, sumDzXc) = channelSums(c)
                applyGradient(c, sumDz: sumDz, sumDzXc: sumDzXc, count: Double(m))
            }
        }
        return
    }
    // A batch split across processes: dx needs the whole batch's sums. dGamma and dBeta keep this
    // process's part, which the data-parallel step sums with the other gradients.
    let totals = UnsafeMutableBufferPointer<Double>.allocate(capacity: 2 * channels + 1)
    defer { totals.deallocate() }
    parallelFor(channels, workPerItem: 2 * m) { range in
        for c in range { (totals[2 * c], totals[2 * c + 1]) = channelSums(c) }
    }
    totals[2 * channels] = Double(m)
    sum(totals)
    parallelFor(channels, workPerItem: 2 * m) { range in
        for c in range { applyGradient(c, sumDz: totals[2 * c], sumDzXc: totals[2 * c + 1], count: totals[2 * channels]) }
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
