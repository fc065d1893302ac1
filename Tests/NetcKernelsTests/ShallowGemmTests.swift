import Testing
import NetcKernels

/// The shallow GEMM against a float64 product, on every instruction set: row counts that fill no
/// whole tile (1, 7, 13, 9: AVX2's rows of 6 and 4, then single rows) and whole tiles (8, 64), sums
/// short and deep (1 to 577), column counts that end in each kind of block (48-wide, 16-wide, single
/// columns), A read as is and transposed, strides wider than the matrices, accumulation onto C,
/// the bias and ReLU epilogue; and the same bits whether the columns are split across the cores
/// or not.
@Test(arguments: InstructionSet.available, [(1, 5), (7, 1), (13, 49), (8, 9), (64, 64), (9, 577)])
func shallowGemmMatchesAProduct(_ set: InstructionSet, _ shape: (Int, Int)) {
    let (m, k) = shape
    var rng = TestRNG(seed: UInt64(m * 1000 + k))
    for transA in [false, true] {
        let lda = (transA ? m : k) + 3
        let a = randomArray((transA ? k : m) * lda, &rng)
        func aAt(_ r: Int, _ kk: Int) -> Double { Double(transA ? a[kk * lda + r] : a[r * lda + kk]) }
        for n in [1, 15, 16, 17, 47, 48, 49, 65, 100, 1201] {
            let ldb = n + 2, ldc = n + 1
            let b = randomArray(k * ldb, &rng), base = randomArray(m * ldc, &rng)
            let product = (0..<m * ldc).map { i -> Double in
                let (r, j) = (i / ldc, i % ldc)
                guard j < n else { return Double(base[i]) }
                return (0..<k).reduce(0.0) { $0 + aAt(r, $1) * Double(b[$1 * ldb + j]) }
            }
            let bias = randomArray(m, &rng)
            for (accumulate, finish) in [(false, false), (true, false), (false, true), (true, true)] {
                func run(parallel: Bool) -> [Float] {
                    var c = base
                    a.ro { ap in b.ro { bp in bias.ro { biasp in c.withUnsafeMutableBufferPointer {
                        gemmShallow(transA: transA, m: m, n: n, k: k, a: ap.baseAddress!, lda: lda, b: bp.baseAddress!,
                                    ldb: ldb, c: $0.baseAddress!, ldc: ldc, accumulate: accumulate,
                                    bias: finish ? biasp.baseAddress! : nil, relu: finish, parallel: parallel,
                                    instructionSet: set)
                    } } } }
                    return c
                }
                let c = run(parallel: true)
                let expected = product.indices.map { i -> Double in
                    guard i % ldc < n else { return product[i] }
                    let sum = accumulate ? product[i] + Double(base[i]) : product[i]
                    return finish ? max(sum + Double(bias[i / ldc]), 0) : sum
                }
                let what = "m \(m) n \(n) k \(k) transA \(transA) accumulate \(accumulate) bias and ReLU \(finish)"
                expectClose(c, expected, tol: 1e-5, what)
                #expect(c == run(parallel: false), "\(what): the split changed bits")
            }
        }
    }
}

/// The epilogue's ReLU keeps a NaN (the run's non-finite check must see it) in the tiled columns
/// and in the single-column tail alike, as the Swift epilogue (`max(x, 0)`) does.
@Test func shallowGemmReLUKeepsNaN() {
    let (m, n, k) = (9, 1025, 3)
    var b = [Float](repeating: 1, count: k * n)
    b[1 * n + 5] = .nan; b[2 * n + 1024] = .nan                     // a tile's column, the tail column
    let a = [Float](repeating: -1, count: m * k)                     // every other result is -3: ReLU gives 0
    var c = [Float](repeating: 7, count: m * n)
    a.ro { ap in b.ro { bp in c.withUnsafeMutableBufferPointer {
        gemmShallow(m: m, n: n, k: k, a: ap.baseAddress!, lda: k, b: bp.baseAddress!, ldb: n, c: $0.baseAddress!, ldc: n,
                    accumulate: false, relu: true)
    } } }
    for r in 0..<m {
        for j in 0..<n {
            if j == 5 || j == 1024 { #expect(c[r * n + j].isNaN, "row \(r) column \(j)") } else { #expect(c[r * n + j] == 0) }
        }
    }
}
