import Testing
import NetcKernels

@Test(arguments: [(3, 2, 5), (4, 3, 1), (2, 5, 49)])
func flattenMatchesReferenceAndRoundTrips(_ c: Int, _ n: Int, _ s: Int) {
    var rng = TestRNG(seed: UInt64(c * 100 + n * 10 + s))
    let x = randomArray(c * n * s, &rng), dy = randomArray(c * n * s, &rng)
    var y = zeros(c * n * s), dx = zeros(c * n * s)
    x.ro { xp in y.withUnsafeMutableBufferPointer { flattenForward(x: xp, y: $0, channels: c, n: n, spatial: s) } }
    #expect(y == Reference.flatten(x: x, channels: c, n: n, spatial: s))
    // Per-sample PyTorch order: feature (c, h, w) of sample i is x[c][i][hw] at row c*HW + hw.
    #expect(y[(1 * s + s - 1) * n + (n - 1)] == x[(1 * n + n - 1) * s + s - 1])
    y.ro { yp in dx.withUnsafeMutableBufferPointer { flattenBackward(dy: yp, dx: $0, channels: c, n: n, spatial: s, accumulate: false) } }
    #expect(dx == x)
    // Backward is the adjoint: FD of Σ dy * flatten(x).
    var g = zeros(c * n * s)
    dy.ro { dyp in g.withUnsafeMutableBufferPointer { flattenBackward(dy: dyp, dx: $0, channels: c, n: n, spatial: s, accumulate: false) } }
    expectGradient(g, at: doubles(x), tol: 1e-6, "flatten dx") {
        weightedSum(Reference.flatten(x: $0, channels: c, n: n, spatial: s), doubles(dy))
    }
    var acc = [Float](repeating: 1, count: c * n * s)
    dy.ro { dyp in acc.withUnsafeMutableBufferPointer { flattenBackward(dy: dyp, dx: $0, channels: c, n: n, spatial: s, accumulate: true) } }
    #expect(acc == g.map { $0 + 1 })
}

@Test(arguments: [(5, 3, 2), (1, 7, 1), (33, 10, 17)])
func linearMatchesReferenceAndGradients(_ inF: Int, _ outF: Int, _ n: Int) {
    var rng = TestRNG(seed: UInt64(inF * 1000 + outF * 10 + n))
    let x = randomArray(inF * n, &rng), w = randomArray(outF * inF, &rng)
    let b = randomArray(outF, &rng), dy = randomArray(outF * n, &rng)
    var y = [Float](repeating: .nan, count: outF * n), dx = [Float](repeating: .nan, count: inF * n)
    var dw = [Float](repeating: .nan, count: outF * inF), db = [Float](repeating: .nan, count: outF)
    x.ro { xp in w.ro { wp in b.ro { bp in dy.ro { dyp in
        y.withUnsafeMutableBufferPointer { linearForward(x: xp, weight: wp, bias: bp, y: $0, inFeatures: inF, outFeatures: outF, n: n) }
        dx.withUnsafeMutableBufferPointer {
            linearBackwardData(dy: dyp, weight: wp, dx: $0, inFeatures: inF, outFeatures: outF, n: n, accumulate: false)
        }
        dw.withUnsafeMutableBufferPointer { dwp in db.withUnsafeMutableBufferPointer { dbp in
            linearBackwardWeights(x: xp, dy: dyp, dWeight: dwp, dBias: dbp, inFeatures: inF, outFeatures: outF, n: n)
        } }
    } } } }
    let (xd, wd, bd, r) = (doubles(x), doubles(w), doubles(b), doubles(dy))
    expectClose(y, Reference.linearForward(x: xd, weight: wd, bias: bd, inFeatures: inF, outFeatures: outF, n: n), tol: 1e-5, "y")
    let ref = Reference.linearBackward(x: xd, weight: wd, dy: r, inFeatures: inF, outFeatures: outF, n: n)
    expectClose(dx, ref.dx, tol: 1e-5, "dx")
    expectClose(dw, ref.dWeight, tol: 1e-5, "dW")
    expectClose(db, ref.dBias, tol: 1e-5, "db")
    func loss(_ x: [Double], _ w: [Double], _ b: [Double]) -> Double {
        weightedSum(Reference.linearForward(x: x, weight: w, bias: b, inFeatures: inF, outFeatures: outF, n: n), r)
    }
    expectGradient(dx, at: xd, "linear dx") { loss($0, wd, bd) }
    expectGradient(dw, at: wd, "linear dW") { loss(xd, $0, bd) }
    expectGradient(db, at: bd, "linear db") { loss(xd, wd, $0) }
    var acc = [Float](repeating: 1, count: inF * n)
    dy.ro { dyp in w.ro { wp in acc.withUnsafeMutableBufferPointer {
        linearBackwardData(dy: dyp, weight: wp, dx: $0, inFeatures: inF, outFeatures: outF, n: n, accumulate: true)
    } } }
    expectClose(acc, ref.dx.map { $0 + 1 }, tol: 1e-5, "dx accumulate")
}

/// Sample 0: logits (1, 2, 3), label 2 -> loss log(e+e²+e³) - 3, argmax right.
/// Sample 1: logits (1, 0, -1), label 1 -> loss log(e+1+1/e), argmax wrong.
@Test func softmaxCrossEntropyGolden() {
    let logits: [Float] = [1, 1, 2, 0, 3, -1]      // [K=3, N=2], column n is sample n
    var d = zeros(6)
    let (loss, correct) = logits.ro { lp in [Int32](arrayLiteral: 2, 1).withUnsafeBufferPointer { yp in
        d.withUnsafeMutableBufferPointer { softmaxCrossEntropy(logits: lp, labels: yp, classes: 3, n: 2, dLogits: $0) }
    } }
    #expect(abs(loss - 0.9076059644443802) < 1e-6)
    #expect(correct == 1)
    expectClose(d, [0.04501528658519023, 0.33262047788741095,
                    0.12236423552739882, 0.12236423552739883 - 0.5,
                    0.3326204778874109 - 0.5, 0.04501528658519023], tol: 1e-7, "dLogits golden")
    // Huge logits stay finite (log-sum-exp): loss of (1000, 0) with label 0 is log(1 + e^-1000) = 0.
    let big = [Float](arrayLiteral: 1000, 0).ro { lp in [Int32](arrayLiteral: 0).withUnsafeBufferPointer {
        softmaxCrossEntropy(logits: lp, labels: $0, classes: 2, n: 1, dLogits: nil)
    } }
    #expect(big.loss == 0 && big.correct == 1)
}

@Test func softmaxCrossEntropyMatchesReferenceAndGradient() {
    let (k, n) = (10, 13)
    var rng = TestRNG(seed: 77)
    let logits = randomArray(k * n, &rng, range: -4...4)
    let labels = (0..<n).map { _ in Int32.random(in: 0..<Int32(k), using: &rng) }
    var d = zeros(k * n)
    let fast = logits.ro { lp in labels.withUnsafeBufferPointer { yp in
        d.withUnsafeMutableBufferPointer { softmaxCrossEntropy(logits: lp, labels: yp, classes: k, n: n, dLogits: $0) }
    } }
    let ref = Reference.softmaxCrossEntropy(logits: logits, labels: labels, classes: k, n: n)
    #expect(abs(fast.loss - ref.loss) < 1e-9)
    #expect(fast.correct == ref.correct)
    expectClose(d, ref.dLogits, tol: 1e-7, "dLogits")
    expectGradient(d, at: doubles(logits), eps: 1e-4, tol: 1e-6, samples: 40, "ce dLogits") {
        Reference.softmaxCrossEntropy(logits: $0, labels: labels, classes: k, n: n).loss
    }
}
