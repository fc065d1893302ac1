// Fully connected layer on feature-major activations: x[in, N] -> y[out, N], weights in
// PyTorch's [out, in] layout, so the forward is a plain GEMM with no transposes.

/// `y[out, N] = W[out, in] x[in, N] + b[out]`.
public func linearForward(x: UnsafeBufferPointer<Float>, weight: UnsafeBufferPointer<Float>,
                          bias: UnsafeBufferPointer<Float>?, y: UnsafeMutableBufferPointer<Float>,
                          inFeatures: Int, outFeatures: Int, n: Int) {
    precondition(x.count >= inFeatures * n && y.count >= outFeatures * n
                 && weight.count >= outFeatures * inFeatures, "linear: buffer too small")
    gemm(m: outFeatures, n: n, k: inFeatures, a: weight.baseAddress!, lda: inFeatures,
         b: x.baseAddress!, ldb: n, c: y.baseAddress!, ldc: n)
    if let bias {
        precondition(bias.count >= outFeatures, "linear: bias too small")
        addChannelBias(y: y.baseAddress!, bias: bias.baseAddress!, channels: outFeatures, plane: n)
    }
}

/// `dx[in, N] (+)= Wᵀ[in, out] dy[out, N]`; overwritten unless `accumulate`.
public func linearBackwardData(dy: UnsafeBufferPointer<Float>, weight: UnsafeBufferPointer<Float>,
                               dx: UnsafeMutableBufferPointer<Float>,
                               inFeatures: Int, outFeatures: Int, n: Int, accumulate: Bool) {
    precondition(dx.count >= inFeatures * n && dy.count >= outFeatures * n
                 && weight.count >= outFeatures * inFeatures, "linear: buffer too small")
    gemm(transA: true, m: inFeatures, n: n, k: outFeatures, a: weight.baseAddress!, lda: inFeatures,
         b: dy.baseAddress!, ldb: n, beta: accumulate ? 1 : 0, c: dx.baseAddress!, ldc: n)
}

/// `dW[out, in] = dy[out, N] xᵀ[N, in]`, `db[out] = Σ_n dy[out, n]` (both overwritten).
public func linearBackwardWeights(x: UnsafeBufferPointer<Float>, dy: UnsafeBufferPointer<Float>,
                                  dWeight: UnsafeMutableBufferPointer<Float>,
                                  dBias: UnsafeMutableBufferPointer<Float>?,
                                  inFeatures: Int, outFeatures: Int, n: Int) {
    precondition(x.count >= inFeatures * n && dy.count >= outFeatures * n
                 && dWeight.count >= outFeatures * inFeatures, "linear: buffer too small")
    gemm(transB: true, m: outFeatures, n: inFeatures, k: n, a: dy.baseAddress!, lda: n,
         b: x.baseAddress!, ldb: n, c: dWeight.baseAddress!, ldc: inFeatures)
    if let dBias {
        precondition(dBias.count >= outFeatures, "linear: dBias too small")
        channelSums(dy.baseAddress!, channels: outFeatures, plane: n, into: dBias.baseAddress!)
    }
}
