import COpenBLAS

/// The single entry point to BLAS in this module (nothing else calls cblas); shallow products
/// go to `gemmShallow` instead, and deep ones with small results to `gemmDeep`.
///
/// Row-major `C[m, n] = alpha * op(A)[m, k] * op(B)[k, n] + beta * C`, where `op(X)` is
/// `X` or `Xᵀ`. Leading dimensions are the row strides of the matrices *as stored*
/// (so a transposed A stored as `[k, m]` has `lda >= m`). Sub-blocks of larger matrices
/// are addressed by offsetting the base pointer and passing the parent's stride.
/// `beta == 0` means C is not read (it may hold garbage, even NaN).
///
/// Threads: netc, not OpenBLAS, splits a product across the cores. OpenBLAS's own pool keeps its
/// workers spinning after each GEMM while netc's loops (im2col, batch norm, Winograd's
/// transforms) want the same cores. With the split below, ResNet-18's training step at 96x96
/// ran 1.4-1.6x as fast as with OpenBLAS's threads (alternating the two builds), and sgemm
/// reaches 195 GFLOP/s on this 2-core machine (96 on one core).
/// So OpenBLAS runs single-threaded, and a product large enough to feed every core is cut
/// into blocks of rows or of columns of C, one per core, each an independent single-threaded
/// GEMM (never split along k, so each element sums in the same order whatever the split).
/// `parallel` false keeps the product on the calling thread, itself one of several workers.
public func gemm(transA: Bool = false, transB: Bool = false,
                 m: Int, n: Int, k: Int,
                 alpha: Float = 1,
                 a: UnsafePointer<Float>, lda: Int,
                 b: UnsafePointer<Float>, ldb: Int,
                 beta: Float = 0,
                 c: UnsafeMutablePointer<Float>, ldc: Int, parallel: Bool = true) {
    if m == 0 || n == 0 { return }
    if k == 0 {
        // BLAS would leave C * beta; keep that contract without calling into it.
        for i in 0..<m {
            let row = c + i * ldc
            if beta == 0 { row.update(repeating: 0, count: n) } else { for j in 0..<n { row[j] *= beta } }
        }
        return
    }
    if !transB && alpha == 1 && (beta == 0 || beta == 1) && shallowGemmFits(m: m, n: n, k: k) {
        gemmShallow(transA: transA, m: m, n: n, k: k, a: a, lda: lda, b: b, ldb: ldb, c: c, ldc: ldc,
                    accumulate: beta == 1, parallel: parallel)
        return
    }
    if !transA && transB && alpha == 1 && (beta == 0 || beta == 1) && deepGemmFits(m: m, n: n, k: k) {
        gemmDeep(m: m, n: n, k: k, a: a, lda: lda, b: b, ldb: ldb, c: c, ldc: ldc, accumulate: beta == 1, parallel: parallel)
        return
    }
    _ = singleThreadedBLAS
    let parts = parallel ? gemmParts(m: m, n: n, k: k) : 1
    guard parts > 1 else {
        sgemm(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
        return
    }
    // Split the longer side of C into `parts` blocks of whole 8-float groups.
    let byRows = m > n, side = byRows ? m : n
    let block = ((side + parts - 1) / parts + 7) & ~7
    parallelFor(parts, workPerItem: parallelWorkThreshold) { range in
        for part in range {
            let lo = part * block, count = min(side, lo + block) - lo
            guard count > 0 else { continue }
            if byRows {
                sgemm(transA, transB, count, n, k, alpha, transA ? a + lo : a + lo * lda, lda, b, ldb, beta, c + lo * ldc, ldc)
            } else {
                sgemm(transA, transB, m, count, k, alpha, a, lda, transB ? b + lo * ldb : b + lo, ldb, beta, c + lo, ldc)
            }
        }
    }
}

/// How many blocks `gemm` cuts a product of this size into, one per core; 1 when it runs on the
/// calling thread (too small to be worth waking another: under `minimumFlopsPerThread` a part,
/// or fewer than 16 rows and columns).
func gemmParts(m: Int, n: Int, k: Int) -> Int {
    let flops = 2 * Double(m) * Double(n) * Double(k)
    return max(1, min(kernelThreadCount, Int(min(flops / Double(minimumFlopsPerThread), 1e9)), max(m, n) / 8))
}

/// Below this many flops a thread's share is not worth waking it for.
let minimumFlopsPerThread = 1 << 20

/// OpenBLAS on one thread, set once before the first product (see `gemm`).
private let singleThreadedBLAS: Void = openblas_set_num_threads(1)

@inline(__always)
private func sgemm(_ transA: Bool, _ transB: Bool, _ m: Int, _ n: Int, _ k: Int, _ alpha: Float,
                   _ a: UnsafePointer<Float>, _ lda: Int, _ b: UnsafePointer<Float>, _ ldb: Int,
                   _ beta: Float, _ c: UnsafeMutablePointer<Float>, _ ldc: Int) {
    cblas_sgemm(CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans,
                Int32(m), Int32(n), Int32(k), alpha, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
}
