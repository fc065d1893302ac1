import Testing
import NetcKernels

/// Deterministic SplitMix64, so failures reproduce.
struct TestRNG: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

func randomArray(_ count: Int, _ rng: inout TestRNG, range: ClosedRange<Float> = -1...1) -> [Float] {
    (0..<count).map { _ in Float.random(in: range, using: &rng) }
}

func doubles(_ a: [Float]) -> [Double] { a.map(Double.init) }

/// max |a - b| / max(1, max |b|): relative to the reference's scale, absolute near zero.
func scaledError(_ a: [Float], _ b: [Double]) -> Double {
    precondition(a.count == b.count, "count mismatch \(a.count) vs \(b.count)")
    let scale = max(1, b.map { abs($0) }.max() ?? 0)
    var worst = 0.0
    for i in a.indices { worst = max(worst, abs(Double(a[i]) - b[i])) }
    return worst / scale
}
func scaledError(_ a: [Float], _ b: [Float]) -> Double { scaledError(a, doubles(b)) }

/// Records an expectation that `a` matches `b` within `tol` (scale-aware, see `scaledError`).
func expectClose(_ a: [Float], _ b: [Double], tol: Double, _ what: String,
                 sourceLocation: SourceLocation = #_sourceLocation) {
    let e = scaledError(a, b)
    #expect(e <= tol, "\(what): scaled error \(e) > \(tol)", sourceLocation: sourceLocation)
}
func expectClose(_ a: [Float], _ b: [Float], tol: Double, _ what: String,
                 sourceLocation: SourceLocation = #_sourceLocation) {
    expectClose(a, doubles(b), tol: tol, what, sourceLocation: sourceLocation)
}

/// Central-difference check of an analytic gradient at a random subset of coordinates.
/// `loss` is evaluated in Double (on the naive reference forward); `analytic` is the fast
/// kernel's Float gradient of the same loss.
func expectGradient(_ analytic: [Float], at x: [Double], eps: Double = 1e-3, tol: Double = 2e-3,
                    samples: Int = 24, seed: UInt64 = 7, _ what: String,
                    sourceLocation: SourceLocation = #_sourceLocation,
                    loss: ([Double]) -> Double) {
    precondition(analytic.count == x.count)
    var rng = TestRNG(seed: seed)
    let idx = x.count <= samples ? Array(x.indices) : (0..<samples).map { _ in Int.random(in: x.indices, using: &rng) }
    var worst = 0.0
    let scale = max(1, analytic.map { abs(Double($0)) }.max() ?? 0)
    var xp = x
    for i in idx {
        xp[i] = x[i] + eps; let lp = loss(xp)
        xp[i] = x[i] - eps; let lm = loss(xp)
        xp[i] = x[i]
        let fd = (lp - lm) / (2 * eps)
        worst = max(worst, abs(fd - Double(analytic[i])) / scale)
    }
    #expect(worst <= tol, "\(what): finite-difference mismatch \(worst) > \(tol)", sourceLocation: sourceLocation)
}

/// `Σ r_i y_i` — a scalar loss whose gradient with respect to y is r.
func weightedSum(_ y: [Double], _ r: [Double]) -> Double {
    var s = 0.0
    for i in y.indices { s += y[i] * r[i] }
    return s
}

// Array adapters for the pointer-based kernels.
extension Array where Element == Float {
    func ro<R>(_ body: (UnsafeBufferPointer<Float>) -> R) -> R { withUnsafeBufferPointer(body) }
}
func zeros(_ n: Int) -> [Float] { [Float](repeating: 0, count: n) }

/// A convolution's forward kernel against float64 for one instruction set: plain, with a bias, and
/// onto a residual with the bias and ReLU, within `tol` (direct sums' by default; Winograd's is
/// `winogradTolerance`). `forward(x, weight, bias, y, epilogue)` runs the kernel.
func expectForwardMatchesReference(_ g: ConvGeometry, x: [Float], weight: [Float], bias: [Float], residual: [Float],
                                   tol: Double = 1e-5, _ what: String,
                                   _ forward: (UnsafeBufferPointer<Float>, UnsafeBufferPointer<Float>,
                                               UnsafeBufferPointer<Float>?, UnsafeMutableBufferPointer<Float>,
                                               ConvEpilogue) -> Void) {
    let plain = Reference.convForward(g, x: doubles(x), weight: doubles(weight), bias: nil)
    let biased = Reference.convForward(g, x: doubles(x), weight: doubles(weight), bias: doubles(bias))
    var y = [Float](repeating: .nan, count: g.outputCount), yBiased = y, onResidual = residual
    x.ro { xp in weight.ro { wp in bias.ro { bp in
        y.withUnsafeMutableBufferPointer { forward(xp, wp, nil, $0, .none) }
        yBiased.withUnsafeMutableBufferPointer { forward(xp, wp, bp, $0, .none) }
        onResidual.withUnsafeMutableBufferPointer { forward(xp, wp, bp, $0, ConvEpilogue(accumulate: true, relu: true)) }
    } } }
    expectClose(y, plain, tol: tol, "\(what) forward")
    expectClose(yBiased, biased, tol: tol, "\(what) forward with bias")
    expectClose(onResidual, zip(residual, biased).map { max(Double($0) + $1, 0) }, tol: tol,
                "\(what) forward onto a residual, bias, ReLU")
}

/// A forward kernel with the grouped kernels' signature (`groupedLanesConvForward`).
typealias GroupedForward = (ConvGeometry, UnsafeBufferPointer<Float>, UnsafeBufferPointer<Float>, UnsafeBufferPointer<Float>?,
                            UnsafeMutableBufferPointer<Float>, UnsafeMutableBufferPointer<Float>, ConvEpilogue, InstructionSet?) -> Void

/// `expectForwardMatchesReference` for a grouped forward kernel on every instruction set this
/// processor runs, on random data drawn from `seed`, with `workspaceCount` floats of NaN scratch.
func expectGroupedForwardMatchesReference(_ g: ConvGeometry, seed: UInt64, workspaceCount: Int, tol: Double = 1e-5,
                                          _ kernel: GroupedForward) {
    var rng = TestRNG(seed: seed)
    let x = randomArray(g.inputCount, &rng), w = randomArray(g.weightCount, &rng)
    let b = randomArray(g.outChannels, &rng), residual = randomArray(g.outputCount, &rng)
    var workspace = [Float](repeating: .nan, count: workspaceCount)
    for set in InstructionSet.available {
        expectForwardMatchesReference(g, x: x, weight: w, bias: b, residual: residual, tol: tol, "\(set)") { xp, wp, bp, y, epilogue in
            workspace.withUnsafeMutableBufferPointer { kernel(g, xp, wp, bp, y, $0, epilogue, set) }
        }
    }
}
