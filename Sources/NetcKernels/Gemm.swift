import COpenBLAS

/// The single entry point to BLAS in this module (nothing else calls cblas).
///
/// Row-major `C[m, n] = alpha * op(A)[m, k] * op(B)[k, n] + beta * C`, where `op(X)` is
/// `X` or `Xᵀ`. Leading dimensions are the row strides of the matrices *as stored*
/// (so a transposed A stored as `[k, m]` has `lda >= m`). Sub-blocks of larger matrices
/// are addressed by offsetting the base pointer and passing the parent's stride.
/// `beta == 0` means C is not read (it may hold garbage, even NaN).
@inline(__always)
public func gemm(transA: Bool = false, transB: Bool = false,
                 m: Int, n: Int, k: Int,
                 alpha: Float = 1,
                 a: UnsafePointer<Float>, lda: Int,
                 b: UnsafePointer<Float>, ldb: Int,
                 beta: Float = 0,
                 c: UnsafeMutablePointer<Float>, ldc: Int) {
    if m == 0 || n == 0 { return }
    if k == 0 {
        // BLAS would leave C * beta; keep that contract without calling into it.
        for i in 0..<m {
            let row = c + i * ldc
            if beta == 0 { row.update(repeating: 0, count: n) } else { for j in 0..<n { row[j] *= beta } }
        }
        return
    }
    cblas_sgemm(CblasRowMajor,
                transA ? CblasTrans : CblasNoTrans,
                transB ? CblasTrans : CblasNoTrans,
                Int32(m), Int32(n), Int32(k),
                alpha, a, Int32(lda), b, Int32(ldb),
                beta, c, Int32(ldc))
}
