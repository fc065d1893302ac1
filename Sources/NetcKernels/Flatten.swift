// Flatten between the CNHW conv trunk and the feature-major [F, N] linear head.
// PyTorch's per-sample flatten order is feature = c*H*W + h*W + w, so for each channel c
// the CNHW block x[c] = [N, H*W] must be transposed to rows c*H*W ..< (c+1)*H*W of [F, N].

/// `[C][N][H][W] -> [C*H*W, N]` with feature index `c*H*W + h*W + w`.
/// - Parameters: spatial = `H*W`.
public func flattenForward(x: UnsafeBufferPointer<Float>, y: UnsafeMutableBufferPointer<Float>,
                           channels: Int, n: Int, spatial: Int) {
    precondition(x.count >= channels * n * spatial && y.count >= channels * n * spatial, "flatten: buffer too small")
    let xp = x.baseAddress!, yp = y.baseAddress!
    parallelFor(channels, workPerItem: n * spatial) { range in
        for c in range {
            let src = xp + c * n * spatial              // [N, HW]
            let dst = yp + c * spatial * n              // [HW, N] rows of the feature matrix
            for s in 0..<spatial { for i in 0..<n { dst[s * n + i] = src[i * spatial + s] } }
        }
    }
}

/// Inverse of `flattenForward` (its backward): `[C*H*W, N] -> [C][N][H][W]`.
/// dx is overwritten unless `accumulate`.
public func flattenBackward(dy: UnsafeBufferPointer<Float>, dx: UnsafeMutableBufferPointer<Float>,
                            channels: Int, n: Int, spatial: Int, accumulate: Bool) {
    precondition(dy.count >= channels * n * spatial && dx.count >= channels * n * spatial, "flatten: buffer too small")
    let dyp = dy.baseAddress!, dxp = dx.baseAddress!
    parallelFor(channels, workPerItem: n * spatial) { range in
        for c in range {
            let src = dyp + c * spatial * n             // [HW, N]
            let dst = dxp + c * n * spatial             // [N, HW]
            if accumulate {
                for i in 0..<n { for s in 0..<spatial { dst[i * spatial + s] += src[s * n + i] } }
            } else {
                for i in 0..<n { for s in 0..<spatial { dst[i * spatial + s] = src[s * n + i] } }
            }
        }
    }
}
