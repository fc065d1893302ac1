import CKernels

// A GEMM for shallow products, C[m, n] (+)= A[m, k] x B[k, n] with k up to a few dozen over many
// columns: a stem's 7x7 convolution of one channel (k = 49) and 1x1 convolutions of few channels.
// OpenBLAS packs A and B on every call and then sums 49 products per element: on ResNet's stem
// (64 x 49 x 2304 columns an image) it ran at about 90 GFLOP/s on this machine's two cores, where
// its large products reach 190. `netc_gemm_shallow` (C, AVX-512 or AVX2 chosen at run time) keeps
// an 8 x 48 tile of C in registers across the whole sum, reading B where it lies.

/// Whether `gemmShallow` beats OpenBLAS on this product: depth up to 64, at least 8 rows, and
/// enough columns to fill its tiles on every core.
public func shallowGemmFits(m: Int, n: Int, k: Int) -> Bool {
    k <= 64 && m >= 8 && n >= 1024
}

/// `C (+)= A x B`, then `+ bias` per row and ReLU if asked, while each tile is in registers
/// (`A` `[m, k]` with row stride `lda`, or with `transA` its transpose read from a `[k, m]`
/// matrix; row-major B `[k, n]` and C `[m, n]` with row strides `ldb` and `ldc`); split across the
/// cores by columns unless `parallel` is false (the caller is itself one of several workers).
/// Each element sums over k in order, whatever the split.
public func gemmShallow(transA: Bool = false, m: Int, n: Int, k: Int, a: UnsafePointer<Float>, lda: Int,
                        b: UnsafePointer<Float>, ldb: Int, c: UnsafeMutablePointer<Float>, ldc: Int,
                        accumulate: Bool, bias: UnsafePointer<Float>? = nil, relu: Bool = false, parallel: Bool = true) {
    guard m > 0, n > 0 else { return }
    let block = 48   // the AVX-512 tile's width: splits fall between tiles
    parallelFor((n + block - 1) / block, workPerItem: block * m * k, parallel: parallel) { blocks in
        netc_gemm_shallow(m, k, a, transA ? 1 : lda, transA ? lda : 1, b, ldb, c, ldc, accumulate ? 1 : 0,
                          bias, relu ? 1 : 0, blocks.lowerBound * block, min(n, blocks.upperBound * block))
    }
}
