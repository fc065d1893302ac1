import Testing
import NetcKernels

/// Values in ±[0.05, 1]: far enough from the ReLU kink for finite differences.
func awayFromZero(_ n: Int, _ rng: inout TestRNG) -> [Float] {
    randomArray(n, &rng, range: 0.05...1).map { Bool.random(using: &rng) ? $0 : -$0 }
}

@Test(arguments: [7, 1000, 70_001])
func reluMatchesReferenceAndGradient(_ n: Int) {
    var rng = TestRNG(seed: UInt64(n))
    let x = awayFromZero(n, &rng), dy = randomArray(n, &rng)
    var y = zeros(n), dx = [Float](repeating: .nan, count: n)
    x.ro { xp in y.withUnsafeMutableBufferPointer { reluForward(x: xp, y: $0) } }
    y.ro { yp in dy.ro { dyp in dx.withUnsafeMutableBufferPointer { reluBackward(y: yp, dy: dyp, dx: $0, accumulate: false) } } }
    expectClose(y, Reference.relu(x), tol: 0, "relu y")
    if n < 2000 {
        expectGradient(dx, at: doubles(x), eps: 1e-3, tol: 1e-6, "relu dx") { weightedSum(Reference.relu($0), doubles(dy)) }
    }
    #expect(dx == zip(x, dy).map { $0 > 0 ? $1 : 0 })
    var acc = [Float](repeating: 1, count: n)
    y.ro { yp in dy.ro { dyp in acc.withUnsafeMutableBufferPointer { reluBackward(y: yp, dy: dyp, dx: $0, accumulate: true) } } }
    #expect(acc == dx.map { $0 + 1 })
}

let poolCases: [PoolGeometry] = [
    PoolGeometry(channels: 2, n: 3, height: 7, width: 6, kernel: 3, stride: 2, pad: 1),   // ResNet stem shape
    PoolGeometry(channels: 1, n: 2, height: 5, width: 5, kernel: 2, stride: 2),           // floor drops last row
    PoolGeometry(planes: 3, height: 6, width: 7, kernelH: 3, kernelW: 2, strideH: 1, strideW: 2, padH: 1, padW: 1),
]

struct PoolRun { var maxY: [Float], idx: [Int32], maxDx: [Float], avgY: [Float], avgDx: [Float] }

func runFastPool(_ g: PoolGeometry, x: [Float], dy: [Float], dxInit: [Float]? = nil, accumulate: Bool = false) -> PoolRun {
    var r = PoolRun(maxY: zeros(g.outputCount), idx: [Int32](repeating: -7, count: g.outputCount),
                    maxDx: dxInit ?? [Float](repeating: .nan, count: g.inputCount), avgY: zeros(g.outputCount),
                    avgDx: dxInit ?? [Float](repeating: .nan, count: g.inputCount))
    x.ro { xp in dy.ro { dyp in
        r.maxY.withUnsafeMutableBufferPointer { yp in r.idx.withUnsafeMutableBufferPointer { ip in
            maxPoolForward(g, x: xp, y: yp, indices: ip)
        } }
        r.idx.withUnsafeBufferPointer { ip in r.maxDx.withUnsafeMutableBufferPointer {
            maxPoolBackward(g, dy: dyp, indices: ip, dx: $0, accumulate: accumulate)
        } }
        r.avgY.withUnsafeMutableBufferPointer { avgPoolForward(g, x: xp, y: $0) }
        r.avgDx.withUnsafeMutableBufferPointer { avgPoolBackward(g, dy: dyp, dx: $0, accumulate: accumulate) }
    } }
    return r
}

/// A permutation of well-separated values, so the argmax survives finite-difference nudges.
func distinctValues(_ n: Int, _ rng: inout TestRNG) -> [Float] {
    (0..<n).map { Float($0) * 0.1 - Float(n) * 0.05 }.shuffled(using: &rng)
}

@Test(arguments: poolCases.indices)
func poolingMatchesReferenceAndGradients(_ caseIndex: Int) {
    let g = poolCases[caseIndex]
    var rng = TestRNG(seed: UInt64(500 + caseIndex))
    let x = distinctValues(g.inputCount, &rng), dy = randomArray(g.outputCount, &rng)
    let fast = runFastPool(g, x: x, dy: dy)
    let refMax = Reference.maxPool(g, x: x)
    #expect(fast.maxY == refMax.y)
    #expect(fast.idx == refMax.indices)
    expectClose(fast.avgY, Reference.avgPool(g, x: doubles(x)), tol: 1e-6, "avg y")
    let (xd, r) = (doubles(x), doubles(dy))
    expectGradient(fast.maxDx, at: xd, eps: 1e-3, tol: 1e-5, samples: 1000, "maxpool dx") {
        weightedSum(Reference.maxPool(g, x: $0).y, r)
    }
    expectGradient(fast.avgDx, at: xd, eps: 1e-3, tol: 1e-5, samples: 1000, "avgpool dx") {
        weightedSum(Reference.avgPool(g, x: $0), r)
    }
    let base = randomArray(g.inputCount, &rng)
    let acc = runFastPool(g, x: x, dy: dy, dxInit: base, accumulate: true)
    expectClose(acc.maxDx, zip(base, fast.maxDx).map { $0 + $1 }, tol: 1e-6, "maxpool accumulate")
    expectClose(acc.avgDx, zip(base, fast.avgDx).map { $0 + $1 }, tol: 1e-6, "avgpool accumulate")
}

/// 4x4 plane, kernel 3, stride 2, pad 1 (output 2x2), computed by hand.
@Test func poolingGolden() {
    let g = PoolGeometry(channels: 1, n: 1, height: 4, width: 4, kernel: 3, stride: 2, pad: 1)
    // All-negative input: padding must act as -inf (a zero pad would win every window).
    let neg: [Float] = (1...16).map { -Float($0) }
    let pos: [Float] = (1...16).map { Float($0) }
    let a = runFastPool(g, x: neg, dy: [1, 1, 1, 1])
    #expect(a.maxY == [-1, -2, -5, -6])
    #expect(a.idx == [0, 1, 4, 5])
    let b = runFastPool(g, x: pos, dy: [1, 2, 3, 4])
    #expect(b.maxY == [6, 8, 14, 16])
    #expect(b.maxDx == [0, 0, 0, 0, 0, 1, 0, 2, 0, 0, 0, 0, 0, 3, 0, 4])
    // count_include_pad: every window divides by 9.
    expectClose(b.avgY, [14.0 / 9, 30.0 / 9, 57.0 / 9, 99.0 / 9], tol: 1e-6, "avg golden")
    // Pixel (1,1) lies in all four windows: (1 + 2 + 3 + 4) / 9.
    #expect(abs(b.avgDx[5] - 10.0 / 9) < 1e-6)
    #expect(abs(b.avgDx[0] - 1.0 / 9) < 1e-6)
}

@Test func maxPoolPropagatesNaN() {
    let g = PoolGeometry(channels: 1, n: 1, height: 2, width: 2, kernel: 2, stride: 2)
    let r = runFastPool(g, x: [1, .nan, 3, 2], dy: [1])
    #expect(r.maxY[0].isNaN && r.idx == [1])
}

@Test(arguments: [(3, 5), (700, 64)])
func globalAvgPoolMatchesReferenceAndGradient(_ planes: Int, _ spatial: Int) {
    var rng = TestRNG(seed: UInt64(planes))
    let x = randomArray(planes * spatial, &rng), dy = randomArray(planes, &rng)
    var y = zeros(planes), dx = [Float](repeating: .nan, count: planes * spatial)
    x.ro { xp in y.withUnsafeMutableBufferPointer { globalAvgPoolForward(x: xp, y: $0, planes: planes, spatial: spatial) } }
    dy.ro { dyp in dx.withUnsafeMutableBufferPointer {
        globalAvgPoolBackward(dy: dyp, dx: $0, planes: planes, spatial: spatial, accumulate: false)
    } }
    expectClose(y, Reference.globalAvgPool(x: doubles(x), planes: planes, spatial: spatial), tol: 1e-6, "gap y")
    expectGradient(dx, at: doubles(x), tol: 1e-5, "gap dx") {
        weightedSum(Reference.globalAvgPool(x: $0, planes: planes, spatial: spatial), doubles(dy))
    }
    var acc = [Float](repeating: 2, count: planes * spatial)
    dy.ro { dyp in acc.withUnsafeMutableBufferPointer {
        globalAvgPoolBackward(dy: dyp, dx: $0, planes: planes, spatial: spatial, accumulate: true)
    } }
    expectClose(acc, dx.map { $0 + 2 }, tol: 1e-6, "gap accumulate")
}

/// Every activation, forward and backward, against the float64 reference over [-8, 8], which
/// crosses every piece of the piecewise ones; plus the kinks themselves, where PyTorch's choice
/// of derivative is the reference's.
@Test(arguments: [ActivationFunction.sigmoid, .silu, .hardSigmoid, .hardSwish, .relu6])
func activationsMatchTheReference(_ f: ActivationFunction) {
    let x: [Float] = (0..<401).map { Float($0) * 0.04 - 8 } + [-3, 0, 3, 6]
    let dy: [Float] = x.indices.map { Float(($0 * 7) % 11) / 11 - 0.4 }
    var y = [Float](repeating: 0, count: x.count), dx = [Float](repeating: 1, count: x.count)
    x.withUnsafeBufferPointer { xp in
        y.withUnsafeMutableBufferPointer { activationForward(f, x: xp, y: $0) }
        dy.withUnsafeBufferPointer { g in dx.withUnsafeMutableBufferPointer { activationBackward(f, x: xp, dy: g, dx: $0, accumulate: false) } }
    }
    let refY = Reference.activation(f, x.map(Double.init))
    let refDx = Reference.activationBackward(f, x: x.map(Double.init), dy: dy.map(Double.init))
    for i in x.indices {
        #expect(abs(Double(y[i]) - refY[i]) <= 1e-6 * max(1, abs(refY[i])), "\(f) at \(x[i])")
        #expect(abs(Double(dx[i]) - refDx[i]) <= 1e-6, "\(f)' at \(x[i])")
    }
}

/// Leaky ReLU, forward and backward (from its output), against the float64 reference over
/// [-8, 8] and at 0, where PyTorch's derivative is the slope; accumulate adds; NaN propagates.
@Test(arguments: [0.0, 0.01, 0.1, 1.0])
func leakyReluMatchesTheReference(_ slope: Double) {
    let x: [Float] = (0..<401).map { Float($0) * 0.04 - 8 } + [0, -0.0]
    let dy: [Float] = x.indices.map { Float(($0 * 7) % 11) / 11 - 0.4 }
    var y = [Float](repeating: 0, count: x.count), dx = [Float](repeating: 1, count: x.count)
    x.withUnsafeBufferPointer { xp in y.withUnsafeMutableBufferPointer { leakyReluForward(slope: Float(slope), x: xp, y: $0) } }
    y.withUnsafeBufferPointer { yp in
        dy.withUnsafeBufferPointer { g in dx.withUnsafeMutableBufferPointer { leakyReluBackward(slope: Float(slope), y: yp, dy: g, dx: $0, accumulate: true) } }
    }
    let refY = Reference.leakyRelu(slope: slope, x.map(Double.init))
    let refDx = Reference.leakyReluBackward(slope: slope, x: x.map(Double.init), dy: dy.map(Double.init))
    for i in x.indices {
        #expect(abs(Double(y[i]) - refY[i]) <= 1e-6 * max(1, abs(refY[i])), "leaky \(slope) at \(x[i])")
        #expect(abs(Double(dx[i]) - (refDx[i] + 1)) <= 1e-6, "leaky \(slope)' at \(x[i]), accumulated onto 1")
    }
    var nan: [Float] = [.nan]
    [Float.nan].withUnsafeBufferPointer { xp in nan.withUnsafeMutableBufferPointer { leakyReluForward(slope: Float(slope), x: xp, y: $0) } }
    #expect(nan[0].isNaN)
}

/// Dropout drops about p of the values, scales the rest by 1/(1-p), draws the same mask from the
/// same key in forward and backward, and another from another key.
@Test(arguments: [0.0, 0.25, 0.5, 0.9])
func dropoutDropsAFractionPAndScalesTheRest(_ p: Double) {
    let x = [Float](repeating: 2, count: 20_000)
    var y = [Float](repeating: 0, count: x.count), dx = y, other = y
    x.withUnsafeBufferPointer { xp in
        y.withUnsafeMutableBufferPointer { dropoutForward(p: p, key: 42, x: xp, y: $0) }
        dx.withUnsafeMutableBufferPointer { dropoutBackward(p: p, key: 42, dy: xp, dx: $0, accumulate: false) }
        other.withUnsafeMutableBufferPointer { dropoutForward(p: p, key: 43, x: xp, y: $0) }
    }
    let kept = y.filter { $0 != 0 }
    #expect(kept.allSatisfy { abs($0 - Float(2 / (1 - p))) < 1e-5 })
    #expect(abs(Double(x.count - kept.count) / Double(x.count) - p) < 0.015, "\(x.count - kept.count) dropped")
    #expect(dx == y, "the backward draws the forward's mask")
    #expect(p == 0 ? other == y : other != y, "another key, another mask")
}

/// Max pooling's vector kernel on every instruction set this processor runs, against the
/// reference and the rules it must keep: ties (values on a coarse grid) go to the window's first
/// maximum in row-major order, a window of -inf keeps its first pixel, and the first NaN in a
/// window wins (two NaNs lie in some windows); without winners, the same values. Shapes: the stem's
/// 3x3 stride 2 pad 1 (a 37-wide row: two vectors, the last partial; and 48x48), stride 1 and 3,
/// rectangular windows and strides, 2x2 without padding, 1x1. Windows 3 wide at stride 2 with a
/// column of padding take a path of their own without winners: rows a multiple of 32 wide, 16 past
/// one (48, 80 and 16), or neither (37, 47, 27); one image; an odd height, a taller window, stride 1
/// down the rows and no padding above.
let maxPoolKernelCases: [PoolGeometry] = [
    PoolGeometry(channels: 2, n: 2, height: 9, width: 37, kernel: 3, stride: 2, pad: 1),
    PoolGeometry(channels: 1, n: 2, height: 48, width: 48, kernel: 3, stride: 2, pad: 1),
    PoolGeometry(channels: 1, n: 1, height: 48, width: 48, kernel: 3, stride: 2, pad: 1),
    PoolGeometry(channels: 2, n: 1, height: 16, width: 64, kernel: 3, stride: 2, pad: 1),
    PoolGeometry(channels: 1, n: 3, height: 10, width: 80, kernel: 3, stride: 2, pad: 1),
    PoolGeometry(channels: 3, n: 1, height: 47, width: 47, kernel: 3, stride: 2, pad: 1),
    PoolGeometry(planes: 2, height: 12, width: 16, kernelH: 3, kernelW: 3, strideH: 1, strideW: 2, padH: 0, padW: 1),
    PoolGeometry(planes: 3, height: 13, width: 27, kernelH: 5, kernelW: 3, strideH: 3, strideW: 2, padH: 2, padW: 1),
    PoolGeometry(channels: 3, n: 1, height: 5, width: 33, kernel: 3, stride: 1, pad: 1),
    PoolGeometry(channels: 1, n: 3, height: 11, width: 50, kernel: 5, stride: 3, pad: 2),
    PoolGeometry(planes: 3, height: 6, width: 41, kernelH: 3, kernelW: 2, strideH: 1, strideW: 2, padH: 1, padW: 1),
    PoolGeometry(channels: 2, n: 1, height: 7, width: 40, kernel: 2, stride: 2),
    PoolGeometry(channels: 1, n: 2, height: 3, width: 17, kernel: 1, stride: 1),
]

@Test(arguments: InstructionSet.available, maxPoolKernelCases.indices)
func maxPoolKernelMatchesReference(_ set: InstructionSet, _ caseIndex: Int) {
    let g = maxPoolKernelCases[caseIndex]
    var rng = TestRNG(seed: UInt64(900 + caseIndex))
    var x = randomArray(g.inputCount, &rng).map { ($0 * 3).rounded() }
    let (h, w) = (g.height, g.width), plane = h * w
    for r in 0..<3 { for c in 5..<12 { x[(g.planes - 1) * plane + r * w + c] = -.infinity } }   // the last plane's corner
    let finite = Reference.maxPool(g, x: x)
    x[min(4, h - 1) * w + 10] = .nan; x[min(5, h - 1) * w + 9] = .nan                             // the first plane
    var y = [Float](repeating: 7, count: g.outputCount), values = y, indices = [Int32](repeating: -7, count: g.outputCount)
    x.ro { xp in
        y.withUnsafeMutableBufferPointer { yp in indices.withUnsafeMutableBufferPointer { ip in
            maxPoolForward(g, x: xp, y: yp, indices: ip, instructionSet: set)
        } }
        values.withUnsafeMutableBufferPointer { maxPoolForward(g, x: xp, y: $0, indices: nil, instructionSet: set) }
    }
    var nans = 0
    for p in 0..<g.planes { for i in 0..<g.outH { for j in 0..<g.outW {
        let o = (p * g.outH + i) * g.outW + j
        // The window's first NaN in row-major order wins; without one, Reference's maximum.
        var firstNaN: Int?
        for a in max(i * g.strideH - g.padH, 0)..<min(i * g.strideH - g.padH + g.kernelH, h) {
            for b in max(j * g.strideW - g.padW, 0)..<min(j * g.strideW - g.padW + g.kernelW, w)
            where firstNaN == nil && x[p * plane + a * w + b].isNaN {
                firstNaN = a * w + b
            }
        }
        if let nan = firstNaN {
            nans += 1
            #expect(y[o].isNaN && indices[o] == Int32(nan) && values[o].isNaN, "\(set) case \(caseIndex) output \(o)")
        } else {
            #expect(y[o] == finite.y[o] && indices[o] == finite.indices[o] && values[o] == y[o], "\(set) case \(caseIndex) output \(o)")
        }
    } } }
    #expect(nans > 0, "some window holds a NaN")
}

/// A window of -inf keeps its first pixel, on every instruction set: in the stem's 3x3 stride 2
/// pad 1, output (0, 4) of a 37-wide row covers columns 7 to 9 of rows 0 and 1.
@Test(arguments: InstructionSet.available)
func maxPoolWindowOfMinusInfinityKeepsItsFirstPixel(_ set: InstructionSet) {
    let g = PoolGeometry(channels: 1, n: 1, height: 9, width: 37, kernel: 3, stride: 2, pad: 1)
    var x = [Float](repeating: 1, count: g.inputCount)
    for r in 0..<3 { for c in 5..<12 { x[r * 37 + c] = -.infinity } }
    var y = zeros(g.outputCount), indices = [Int32](repeating: -7, count: g.outputCount)
    x.ro { xp in y.withUnsafeMutableBufferPointer { yp in indices.withUnsafeMutableBufferPointer { ip in
        maxPoolForward(g, x: xp, y: yp, indices: ip, instructionSet: set)
    } } }
    #expect(y[4] == -.infinity && indices[4] == 7, "\(set)")
}

/// A window taller than the input (PoolGeometry takes 2 rows under 3 without padding: one output
/// row, its window cut short) reads only the rows there are, on every instruction set, without
/// winners as with.
@Test(arguments: InstructionSet.available)
func maxPoolWindowTallerThanTheInputReadsOnlyItsRows(_ set: InstructionSet) {
    let g = PoolGeometry(planes: 3, height: 2, width: 48, kernelH: 3, kernelW: 3, strideH: 2, strideW: 2, padH: 0, padW: 1)
    var rng = TestRNG(seed: 77)
    let x = randomArray(g.inputCount, &rng)
    var y = [Float](repeating: .nan, count: g.outputCount), values = y, indices = [Int32](repeating: -7, count: g.outputCount)
    x.ro { xp in
        y.withUnsafeMutableBufferPointer { yp in indices.withUnsafeMutableBufferPointer { ip in
            maxPoolForward(g, x: xp, y: yp, indices: ip, instructionSet: set)
        } }
        values.withUnsafeMutableBufferPointer { maxPoolForward(g, x: xp, y: $0, indices: nil, instructionSet: set) }
    }
    let reference = Reference.maxPool(g, x: x)
    #expect(g.outH == 1 && y == reference.y && indices == reference.indices && values == reference.y, "\(set)")
}

/// Inference's max pool, which keeps no winners, gives the same values as training's.
@Test(arguments: poolCases.indices)
func maxPoolWithoutIndicesGivesTheSameValues(_ caseIndex: Int) {
    let g = poolCases[caseIndex]
    var rng = TestRNG(seed: UInt64(800 + caseIndex))
    let x = randomArray(g.inputCount, &rng).map { ($0 * 3).rounded() }   // ties
    #expect(maxPoolValuesOnly(g, x) == runFastPool(g, x: x, dy: zeros(g.outputCount)).maxY)
}

func maxPoolValuesOnly(_ g: PoolGeometry, _ x: [Float]) -> [Float] {
    var y = [Float](repeating: .nan, count: g.outputCount)
    x.ro { xp in y.withUnsafeMutableBufferPointer { maxPoolForward(g, x: xp, y: $0, indices: nil) } }
    return y
}
