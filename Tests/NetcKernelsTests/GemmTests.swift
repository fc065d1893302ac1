import Testing
import NetcKernels

/// The product split across cores (by rows when C is tall, by columns when wide, with blocks
/// that leave a ragged last one) equals the naive product, with every transpose, sub-matrix
/// strides and beta.
@Test(arguments: [(300, 37, 250), (37, 301, 250), (129, 130, 64)])
func splitGemmMatchesNaive(_ m: Int, _ n: Int, _ k: Int) {
    var rng = TestRNG(seed: UInt64(m * n))
    for transA in [false, true] {
        for transB in [false, true] {
            let lda = (transA ? m : k) + 3, ldb = (transB ? k : n) + 2, ldc = n + 5
            let a = randomArray((transA ? k : m) * lda, &rng), b = randomArray((transB ? n : k) * ldb, &rng)
            let c0 = randomArray(m * ldc, &rng)
            var c = c0
            a.ro { ap in b.ro { bp in c.withUnsafeMutableBufferPointer { cp in
                gemm(transA: transA, transB: transB, m: m, n: n, k: k, alpha: 0.5, a: ap.baseAddress!, lda: lda,
                     b: bp.baseAddress!, ldb: ldb, beta: 1, c: cp.baseAddress!, ldc: ldc)
            } } }
            var expected: [Double] = [], got: [Float] = []
            for i in 0..<m {
                for j in 0..<n {
                    var sum = 0.0
                    for p in 0..<k {
                        sum += Double(transA ? a[p * lda + i] : a[i * lda + p]) * Double(transB ? b[j * ldb + p] : b[p * ldb + j])
                    }
                    expected.append(0.5 * sum + Double(c0[i * ldc + j]))
                    got.append(c[i * ldc + j])
                }
                // Padding columns past n are never written.
                for j in n..<ldc { #expect(c[i * ldc + j] == c0[i * ldc + j]) }
            }
            expectClose(got, expected, tol: 1e-5, "transA \(transA) transB \(transB)")
        }
    }
}
