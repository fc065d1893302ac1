import Testing
import NetcKernels

/// The packed-weights GEMM against a float64 product, on every instruction set: rows that fill no
/// whole panel (m = 1, 17, 40), every column count from 1 to 25 (blocks of 12, 6 or 3 and each
/// remainder), strides wider than the matrices, accumulation onto C, and the epilogue (bias, ReLU).
@Test(arguments: InstructionSet.available, [(1, 5), (17, 33), (40, 7), (64, 144)])
func packedGemmMatchesAProduct(_ set: InstructionSet, _ shape: (Int, Int)) {
    let (m, k) = shape
    var rng = TestRNG(seed: UInt64(m * 1000 + k))
    let lda = k + 3
    let a = randomArray(m * lda, &rng)
    var packed = [Float](repeating: .nan, count: PackedPanels.count(m: m, k: k))
    a.ro { ap in packed.withUnsafeMutableBufferPointer { PackedPanels.pack(m: m, k: k, a: ap.baseAddress!, lda: lda, into: $0.baseAddress!) } }
    for n in 1...25 {
        let ldb = n + 2, ldc = n + 1
        let b = randomArray(k * ldb, &rng), base = randomArray(m * ldc, &rng)
        let product = (0..<m * ldc).map { i -> Double in
            let (r, j) = (i / ldc, i % ldc)
            guard j < n else { return Double(base[i]) }
            return (0..<k).reduce(0.0) { $0 + Double(a[r * lda + $1]) * Double(b[$1 * ldb + j]) }
        }
        let bias = randomArray(m, &rng)
        for (accumulate, finish) in [(false, false), (true, false), (false, true), (true, true)] {
            var c = base
            packed.ro { pp in b.ro { bp in bias.ro { biasp in c.withUnsafeMutableBufferPointer {
                gemmPacked(m: m, n: n, k: k, packed: pp.baseAddress!, b: bp.baseAddress!, ldb: ldb, c: $0.baseAddress!, ldc: ldc,
                           accumulate: accumulate, bias: finish ? biasp.baseAddress! : nil, relu: finish, instructionSet: set)
            } } } }
            let expected = product.indices.map { i -> Double in
                guard i % ldc < n else { return product[i] }
                let sum = accumulate ? product[i] + Double(base[i]) : product[i]
                return finish ? max(sum + Double(bias[i / ldc]), 0) : sum
            }
            expectClose(c, expected, tol: 1e-5, "\(set) m \(m) n \(n) k \(k) accumulate \(accumulate) bias and ReLU \(finish)")
        }
    }
}

/// A convolution with prepacked weights equals one without, on the shapes it is used for: one
/// image on small maps, unfolded (stride 2 too), with dead taps, and 1x1; with the epilogue.
@Test(arguments: [
    ConvGeometry(n: 1, inChannels: 20, height: 3, width: 3, outChannels: 19, kernelH: 3, kernelW: 3, padH: 1, padW: 1),
    ConvGeometry(n: 1, inChannels: 8, height: 6, width: 5, outChannels: 33, kernelH: 3, kernelW: 3, strideH: 2, strideW: 2, padH: 1, padW: 1),
    ConvGeometry(n: 2, inChannels: 6, height: 1, width: 1, outChannels: 17, kernelH: 3, kernelW: 3, padH: 1, padW: 1),
    ConvGeometry(n: 1, inChannels: 24, height: 2, width: 3, outChannels: 16, kernelH: 1, kernelW: 1),
])
func convWithPackedWeightsMatchesReference(_ g: ConvGeometry) {
    var rng = TestRNG(seed: UInt64(g.outChannels))
    let x = randomArray(g.inputCount, &rng), w = randomArray(g.weightCount, &rng), b = randomArray(g.outChannels, &rng)
    let residual = randomArray(g.outputCount, &rng)
    var packed = [Float](repeating: .nan, count: packedConvWeightCount(g))
    w.ro { wp in packed.withUnsafeMutableBufferPointer { packConvWeights(g, weight: wp.baseAddress!, into: $0.baseAddress!) } }
    var ws = [Float](repeating: .nan, count: max(g.workspaceCount, 1)), y = residual
    x.ro { xp in w.ro { wp in b.ro { bp in packed.ro { pp in ws.withUnsafeMutableBufferPointer { wsp in
        y.withUnsafeMutableBufferPointer {
            convForward(g, x: xp, weight: wp, bias: bp, y: $0, workspace: wsp,
                        epilogue: ConvEpilogue(accumulate: true, relu: true), packed: pp.baseAddress!)
        }
    } } } } }
    let reference = Reference.convForward(g, x: doubles(x), weight: doubles(w), bias: doubles(b))
    expectClose(y, zip(reference, residual).map { max($0 + Double($1), 0) }, tol: 1e-5, "y")
}
