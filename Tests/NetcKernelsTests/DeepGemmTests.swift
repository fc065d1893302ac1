import Testing
import NetcKernels

/// The deep GEMM against a float64 product: row and column counts that fill no whole tile (1, 3,
/// 5, 49) and whole tiles (4, 16), depths below one vector, between vectors and across several
/// blocks of 512 (1, 17, 1,100), strides wider than the matrices, accumulation onto C; and the
/// same bits whether the rows are split across the cores or not.
@Test(arguments: [(1, 1), (3, 5), (4, 16), (16, 49), (13, 4)])
func deepGemmMatchesAProduct(_ m: Int, _ n: Int) {
    var rng = TestRNG(seed: UInt64(m * 100 + n))
    for k in [1, 17, 1100] {
        let lda = k + 3, ldb = k + 1, ldc = n + 2
        let a = randomArray(m * lda, &rng), b = randomArray(n * ldb, &rng), base = randomArray(m * ldc, &rng)
        for accumulate in [false, true] {
            func run(parallel: Bool) -> [Float] {
                var c = base
                a.ro { ap in b.ro { bp in c.withUnsafeMutableBufferPointer {
                    gemmDeep(m: m, n: n, k: k, a: ap.baseAddress!, lda: lda, b: bp.baseAddress!, ldb: ldb,
                             c: $0.baseAddress!, ldc: ldc, accumulate: accumulate, parallel: parallel)
                } } }
                return c
            }
            let expected = (0..<m * ldc).map { i -> Double in
                let (r, j) = (i / ldc, i % ldc)
                guard j < n else { return Double(base[i]) }
                let sum = (0..<k).reduce(0.0) { $0 + Double(a[r * lda + $1]) * Double(b[j * ldb + $1]) }
                return accumulate ? sum + Double(base[i]) : sum
            }
            let c = run(parallel: true)
            expectClose(c, expected, tol: 1e-5, "m \(m) n \(n) k \(k) accumulate \(accumulate)")
            #expect(c == run(parallel: false), "m \(m) n \(n) k \(k): the split changed bits")
        }
    }
}
