// NetcKernels: pure compute kernels over raw buffers. Knows nothing about models or graphs.
//
// ACTIVATION LAYOUT — CNHW. A tensor of logical shape (N, C, H, W) is stored as
// [C][N][H][W]: channel-major, with the whole batch inside each channel. Two consequences
// drive the design of every kernel in this module:
//   * a convolution over any run of images is ONE GEMM per group:
//       W[Cout, Cin/g*KH*KW] x col[Cin/g*KH*KW, b*OH*OW] = Y[Cout, b*OH*OW],
//     and Y is a column block of the CNHW output, so no per-image GEMMs and no output
//     transpose (the kernels unfold a few images at a time, see Convolution.swift);
//   * per-channel reductions (batch norm, bias gradients) read one contiguous run of N*H*W.
// Linear-layer features are feature-major [F, N]; logits are [K, N].
//
// Conventions: forward kernels overwrite their outputs. Weight gradients overwrite.
// Input gradients overwrite unless `accumulate: true`, in which case they are added into
// the destination (a tensor consumed by several ops receives the sum of its gradients).
// Scratch memory is passed in by the caller (`workspace`); kernels never allocate.

/// Converts a batch from PyTorch's NCHW layout to CNHW.
/// - Parameters:
///   - src: `[N][C][H][W]`, `n*c*spatial` floats.
///   - dst: `[C][N][H][W]`, same count.
///   - spatial: `H*W`.
public func nchwToCnhw(_ src: UnsafeBufferPointer<Float>, _ dst: UnsafeMutableBufferPointer<Float>,
                       n: Int, c: Int, spatial: Int) {
    transposeOuter(src, dst, outer: n, inner: c, block: spatial)
}

/// Converts a CNHW tensor back to NCHW (e.g. for export or comparison with PyTorch).
/// - Parameters:
///   - src: `[C][N][H][W]`; dst: `[N][C][H][W]`; `spatial` = `H*W`.
public func cnhwToNchw(_ src: UnsafeBufferPointer<Float>, _ dst: UnsafeMutableBufferPointer<Float>,
                       n: Int, c: Int, spatial: Int) {
    transposeOuter(src, dst, outer: c, inner: n, block: spatial)
}

/// `[A][B][block] -> [B][A][block]`: swaps the two outer axes, moving contiguous blocks.
@inline(__always)
private func transposeOuter(_ src: UnsafeBufferPointer<Float>, _ dst: UnsafeMutableBufferPointer<Float>,
                            outer a: Int, inner b: Int, block: Int) {
    precondition(src.count >= a * b * block && dst.count >= a * b * block, "layout: buffer too small")
    let s = src.baseAddress!, d = dst.baseAddress!
    parallelFor(a, workPerItem: b * block) { range in
        for i in range {
            for j in 0..<b {
                // src block (i, j) -> dst block (j, i)
                (d + (j * a + i) * block).update(from: s + (i * b + j) * block, count: block)
            }
        }
    }
}
