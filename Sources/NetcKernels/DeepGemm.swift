import CKernels

// A GEMM for deep products with small results, C[m, n] (+)= A[m, k] x B[n, k]ᵀ with k in the
// thousands and m x n a few thousand: a convolution's weight gradient, dY times its unfolded
// input transposed (ResNet's stem: 64 x 49 over 20,736 columns a chunk; a group of ResNeXt's
// grouped 3x3s: 16 x 144). OpenBLAS transposes and packs B and then runs its kernel on a result
// 49 or 144 wide; `netc_gemm_deep` (C, AVX-512 or AVX2 chosen at run time) reads both operands
// along k, where they are contiguous, keeping a 4 x 4 tile of partial sums in registers.

/// Whether `gemmDeep` beats OpenBLAS on `A x Bᵀ` of this shape: a deep sum (k at least 2,048)
/// into a result of at most 64 rows or columns and 16,384 elements. Measured here, on both cores
/// (GFLOP/s, k about 18,000): 16 x 144 at 155 against OpenBLAS's 72, 32 x 288 at 148 against 103,
/// 128 x 64 at 160 against 127, 64 x 64 at 126 against 103; 64 x 576 breaks even.
public func deepGemmFits(m: Int, n: Int, k: Int) -> Bool {
    k >= 2048 && min(m, n) <= 64 && m * n <= 1 << 14
}

/// `C (+)= A x Bᵀ` with row-major A `[m, k]`, B `[n, k]` and C `[m, n]` (row strides `lda`, `ldb`,
/// `ldc`); split across the cores by rows of C unless `parallel` is false (the caller is itself
/// one of several workers). Each element sums over k in blocks of 512 in order, each block over
/// 16 lanes, whatever the split.
public func gemmDeep(m: Int, n: Int, k: Int, a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
                     c: UnsafeMutablePointer<Float>, ldc: Int, accumulate: Bool, parallel: Bool = true) {
    guard m > 0, n > 0 else { return }
    let rowsPerItem = 4   // the AVX-512 tile's height: splits fall between tiles
    parallelFor((m + rowsPerItem - 1) / rowsPerItem, workPerItem: rowsPerItem * n * k, parallel: parallel) { items in
        netc_gemm_deep(n, k, a, lda, b, ldb, c, ldc, accumulate ? 1 : 0,
                       items.lowerBound * rowsPerItem, min(m, items.upperBound * rowsPerItem))
    }
}
