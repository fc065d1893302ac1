import Testing
import NetcKernels

@Test(arguments: [(2, 3, 5), (128, 3, 96)])
func layoutTransposesRoundTrip(_ n: Int, _ c: Int, _ s: Int) {
    var rng = TestRNG(seed: UInt64(n + c + s))
    let x = randomArray(n * c * s, &rng)
    var cnhw = zeros(x.count), back = zeros(x.count)
    x.ro { xp in cnhw.withUnsafeMutableBufferPointer { nchwToCnhw(xp, $0, n: n, c: c, spatial: s) } }
    #expect(cnhw == Reference.nchwToCnhw(x, n: n, c: c, spatial: s))
    cnhw.ro { cp in back.withUnsafeMutableBufferPointer { cnhwToNchw(cp, $0, n: n, c: c, spatial: s) } }
    #expect(back == x)
}

@Test(arguments: [false, true], [false, true])
func gemmHonoursTransposesAndStrides(_ ta: Bool, _ tb: Bool) {
    // C[m, n] sub-block of a wider matrix, A and B stored with padded leading dimensions.
    let (m, n, k) = (5, 7, 3)
    var rng = TestRNG(seed: ta ? (tb ? 1 : 2) : (tb ? 3 : 4))
    let lda = (ta ? m : k) + 2, ldb = (tb ? k : n) + 1, ldc = n + 3
    let a = randomArray((ta ? k : m) * lda, &rng), b = randomArray((tb ? n : k) * ldb, &rng)
    let c0 = randomArray(m * ldc, &rng)
    var c = c0
    a.withUnsafeBufferPointer { ap in b.withUnsafeBufferPointer { bp in c.withUnsafeMutableBufferPointer { cp in
        gemm(transA: ta, transB: tb, m: m, n: n, k: k, alpha: 2, a: ap.baseAddress!, lda: lda,
             b: bp.baseAddress!, ldb: ldb, beta: 0.5, c: cp.baseAddress!, ldc: ldc)
    } } }
    var expected = doubles(c0)
    for i in 0..<m { for j in 0..<n {
        var s = 0.0
        for p in 0..<k {
            s += Double(ta ? a[p * lda + i] : a[i * lda + p]) * Double(tb ? b[j * ldb + p] : b[p * ldb + j])
        }
        expected[i * ldc + j] = 2 * s + 0.5 * Double(c0[i * ldc + j])
    } }
    expectClose(c, expected, tol: 1e-6, "gemm")   // includes the untouched padding columns
}

@Test(arguments: [0, 1, 3, 1000, 1 << 20])
func parallelForCoversEachIndexOnce(_ count: Int) {
    var hits = [Int32](repeating: 0, count: count)
    hits.withUnsafeMutableBufferPointer { h in
        let p = h.baseAddress
        parallelFor(count) { r in for i in r { p![i] += 1 } }
    }
    #expect(hits.allSatisfy { $0 == 1 })
}
