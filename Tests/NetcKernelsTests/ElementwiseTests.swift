import Testing
import NetcKernels

@Test(arguments: [5, 100_003])
func elementwiseOps(_ n: Int) {
    var rng = TestRNG(seed: UInt64(n))
    let a = randomArray(n, &rng), b = randomArray(n, &rng)
    var y = zeros(n)
    a.ro { ap in b.ro { bp in y.withUnsafeMutableBufferPointer { add(ap, bp, into: $0) } } }
    #expect(y == zip(a, b).map { $0 + $1 })
    a.ro { ap in b.ro { bp in y.withUnsafeMutableBufferPointer { add(ap, bp, into: $0, relu: true) } } }
    #expect(y == zip(a, b).map { max($0 + $1, 0) })
    var acc = b
    a.ro { ap in acc.withUnsafeMutableBufferPointer { accumulate(ap, into: $0) } }
    #expect(acc == zip(a, b).map { $0 + $1 })
    var ax = b
    a.ro { ap in ax.withUnsafeMutableBufferPointer { axpy(-0.5, ap, $0) } }
    #expect(ax == zip(a, b).map { $1 + -0.5 * $0 })
    var s = a
    s.withUnsafeMutableBufferPointer { scale($0, by: 3) }
    #expect(s == a.map { $0 * 3 })
    s.withUnsafeMutableBufferPointer { fill($0, with: 0.25) }
    #expect(s.allSatisfy { $0 == 0.25 })
}

/// Hand-computed torch.optim.SGD(lr=0.1, momentum=0.9, weight_decay=0.01), p0 = 1, g = 0.5 twice:
/// step 1: d = 0.5 + 0.01*1 = 0.51, buf = 0.51, p = 1 - 0.051 = 0.949;
/// step 2: d = 0.5 + 0.00949 = 0.50949, buf = 0.9*0.51 + 0.50949 = 0.96849, p = 0.949 - 0.096849 = 0.852151.
@Test func sgdGolden() {
    var p: [Float] = [1, -2], buf: [Float] = [.nan, .nan]   // first step must not read buf
    let g: [Float] = [0.5, 0]
    for step in 0..<2 {
        g.ro { gp in p.withUnsafeMutableBufferPointer { pp in buf.withUnsafeMutableBufferPointer { bp in
            sgdStep(param: pp, grad: gp, momentumBuffer: bp, learningRate: 0.1, momentum: 0.9, weightDecay: 0.01,
                    isFirstStep: step == 0)
        } } }
    }
    #expect(abs(p[0] - 0.852151) < 1e-6)
    #expect(abs(buf[0] - 0.96849) < 1e-6)
    // Zero gradient still decays: d = -0.02, buf1 = -0.02, p1 = -1.998; d = -0.01998, buf2 = -0.03798, p2 = -1.994202.
    #expect(abs(p[1] - -1.994202) < 1e-6)

    // momentum 0 is plain SGD with weight decay, no buffer needed.
    var q: [Float] = [1]
    [Float](arrayLiteral: 0.5).ro { gp in q.withUnsafeMutableBufferPointer {
        sgdStep(param: $0, grad: gp, momentumBuffer: nil, learningRate: 0.1, weightDecay: 0.01, isFirstStep: true)
    } }
    #expect(abs(q[0] - 0.949) < 1e-7)
}

@Test func sgdMatchesReferenceOverSeveralSteps() {
    var rng = TestRNG(seed: 9)
    let n = 50_000
    var p = randomArray(n, &rng), buf = zeros(n)
    var refP = doubles(p), refBuf: [Double]? = nil
    for step in 0..<3 {
        let g = randomArray(n, &rng)
        g.ro { gp in p.withUnsafeMutableBufferPointer { pp in buf.withUnsafeMutableBufferPointer { bp in
            sgdStep(param: pp, grad: gp, momentumBuffer: bp, learningRate: 0.05, momentum: 0.9, weightDecay: 5e-4,
                    isFirstStep: step == 0)
        } } }
        Reference.sgdStep(param: &refP, grad: doubles(g), buffer: &refBuf, lr: 0.05, momentum: 0.9, weightDecay: 5e-4)
    }
    expectClose(p, refP, tol: 1e-6, "param")
    expectClose(buf, refBuf!, tol: 1e-6, "momentum buffer")
}

/// Nesterov, hand-computed: p0 = 1, g = 0.5, lr 0.1, momentum 0.9. Step 1: buf = 0.5,
/// step = 0.5 + 0.9*0.5 = 0.95, p = 0.905. Step 2: buf = 0.9*0.5 + 0.5 = 0.95,
/// step = 0.5 + 0.9*0.95 = 1.355, p = 0.7695. Long enough for the vector and parallel paths.
@Test func sgdNesterovMatchesHandComputed() {
    let n = 70_001
    var p = [Float](repeating: 1, count: n), buf = [Float](repeating: .nan, count: n)
    let g = [Float](repeating: 0.5, count: n)
    for (step, (wantP, wantBuf)) in [(Float(0.905), Float(0.5)), (0.7695, 0.95)].enumerated() {
        g.ro { gp in p.withUnsafeMutableBufferPointer { pp in buf.withUnsafeMutableBufferPointer { bp in
            sgdStep(param: pp, grad: gp, momentumBuffer: bp, learningRate: 0.1, momentum: 0.9,
                    nesterov: true, isFirstStep: step == 0)
        } } }
        #expect(p.allSatisfy { abs($0 - wantP) < 1e-6 }, "step \(step): p")
        #expect(buf.allSatisfy { abs($0 - wantBuf) < 1e-6 }, "step \(step): buffer")
    }
}
