import Testing
import NetcKernels

/// Awkward shapes: odd sizes, padding, stride 2, groups > 1, the 1x1 fast path, batch > 1,
/// and batches split into several chunks with a partial last one (`chunkImages`).
let convCases: [ConvGeometry] = [
    ConvGeometry(n: 2, inChannels: 3, height: 5, width: 7, outChannels: 4, kernelH: 3, kernelW: 3, padH: 1, padW: 1),
    ConvGeometry(n: 3, inChannels: 4, height: 7, width: 6, outChannels: 6, kernelH: 3, kernelW: 3,
                 strideH: 2, strideW: 2, padH: 1, padW: 1, groups: 2),
    ConvGeometry(n: 2, inChannels: 6, height: 3, width: 5, outChannels: 4, kernelH: 1, kernelW: 1, groups: 2),
    ConvGeometry(n: 2, inChannels: 3, height: 5, width: 5, outChannels: 5, kernelH: 1, kernelW: 1, strideH: 2, strideW: 2),
    ConvGeometry(n: 2, inChannels: 1, height: 9, width: 8, outChannels: 3, kernelH: 7, kernelW: 7,
                 strideH: 2, strideW: 2, padH: 3, padW: 3),
    ConvGeometry(n: 1, inChannels: 3, height: 4, width: 5, outChannels: 6, kernelH: 2, kernelW: 3,
                 strideH: 2, strideW: 1, padH: 0, padW: 1, groups: 3),
    // Several chunks, the last one partial: 2 + 2 + 1 images.
    ConvGeometry(n: 5, inChannels: 3, height: 5, width: 6, outChannels: 4, kernelH: 3, kernelW: 3,
                 padH: 1, padW: 1, chunkImages: 2),
    // ... with groups, stride 2 and padding: 2 + 2 + 1.
    ConvGeometry(n: 5, inChannels: 4, height: 7, width: 6, outChannels: 6, kernelH: 3, kernelW: 3,
                 strideH: 2, strideW: 2, padH: 1, padW: 1, groups: 2, chunkImages: 2),
    // ... stem-like 7x7 stride 2: 3 + 1.
    ConvGeometry(n: 4, inChannels: 2, height: 9, width: 8, outChannels: 3, kernelH: 7, kernelW: 7,
                 strideH: 2, strideW: 2, padH: 3, padW: 3, chunkImages: 3),
    // ... one image per chunk, three groups, rectangular kernel.
    ConvGeometry(n: 3, inChannels: 3, height: 4, width: 5, outChannels: 6, kernelH: 2, kernelW: 3,
                 strideH: 2, strideW: 1, padH: 0, padW: 1, groups: 3, chunkImages: 1),
    // ... 1x1 stride 2 (ResNet's downsampling shortcut, unfolded): 2 + 1.
    ConvGeometry(n: 3, inChannels: 4, height: 5, width: 5, outChannels: 6, kernelH: 1, kernelW: 1,
                 strideH: 2, strideW: 2, groups: 2, chunkImages: 2),
    // Pointwise with a chunk size set: the whole-batch GEMM path ignores chunking.
    ConvGeometry(n: 5, inChannels: 6, height: 3, width: 4, outChannels: 4, kernelH: 1, kernelW: 1,
                 groups: 2, chunkImages: 2),
    // Dead taps (only padding under them): 3x3 on a 1x1 map keeps the centre tap only ...
    ConvGeometry(n: 3, inChannels: 4, height: 1, width: 1, outChannels: 5, kernelH: 3, kernelW: 3,
                 padH: 1, padW: 1, chunkImages: 2),
    // ... 3x3 stride 2 from 2x2 to 1x1 keeps 4 taps, with groups ...
    ConvGeometry(n: 2, inChannels: 4, height: 2, width: 2, outChannels: 6, kernelH: 3, kernelW: 3,
                 strideH: 2, strideW: 2, padH: 1, padW: 1, groups: 2),
    // ... 5x5 pad 2 on a 1x3 map keeps one row of taps: 3 + 2 images.
    ConvGeometry(n: 5, inChannels: 2, height: 1, width: 3, outChannels: 3, kernelH: 5, kernelW: 5,
                 padH: 2, padW: 2, chunkImages: 3),
    // Maps above im2col's small-map size (100 pixels), which unfold span by span: stride 2 ...
    ConvGeometry(n: 2, inChannels: 2, height: 35, width: 33, outChannels: 3, kernelH: 3, kernelW: 3,
                 strideH: 2, strideW: 2, padH: 1, padW: 1),
    // ... and stride 1 without padding, narrower than its input.
    ConvGeometry(n: 2, inChannels: 2, height: 20, width: 21, outChannels: 3, kernelH: 3, kernelW: 3),
    // Shallow products (`gemmShallow`: 8 rows or more, 1,024 columns or more, depth <= 64 or up to
    // 32 rows): a stem on one channel with a row past a whole tile (9 = 8 + 1), a 1x1, and a
    // grouped 3x3 (12 x 72 forward, 72 x 12 backward data) whose weight gradient is deep
    // (`gemmDeep`: 12 x 72 over 2,610 columns).
    ConvGeometry(n: 3, inChannels: 1, height: 40, width: 39, outChannels: 9, kernelH: 7, kernelW: 7,
                 strideH: 2, strideW: 2, padH: 3, padW: 3),
    ConvGeometry(n: 2, inChannels: 16, height: 24, width: 25, outChannels: 12, kernelH: 1, kernelW: 1),
    ConvGeometry(n: 3, inChannels: 16, height: 30, width: 29, outChannels: 24, kernelH: 3, kernelW: 3,
                 padH: 1, padW: 1, groups: 2),
]

struct ConvRun {
    var y: [Float], dx: [Float], dw: [Float], db: [Float]
}

/// Runs the fast forward and all backward kernels; dx is written with `accumulate` onto `dxInit`.
func runFastConv(_ g: ConvGeometry, x: [Float], w: [Float], b: [Float], dy: [Float],
                 dxInit: [Float]? = nil, accumulate: Bool = false) -> ConvRun {
    var ws = [Float](repeating: .nan, count: max(g.workspaceCount, 1))  // NaN: stale scratch must not leak
    var y = [Float](repeating: .nan, count: g.outputCount)
    var dx = dxInit ?? [Float](repeating: .nan, count: g.inputCount)
    var dw = [Float](repeating: .nan, count: g.weightCount)
    var db = [Float](repeating: .nan, count: g.outChannels)
    x.ro { xp in w.ro { wp in b.ro { bp in dy.ro { dyp in
        ws.withUnsafeMutableBufferPointer { wsp in
            y.withUnsafeMutableBufferPointer { convForward(g, x: xp, weight: wp, bias: bp, y: $0, workspace: wsp) }
            dx.withUnsafeMutableBufferPointer {
                convBackwardData(g, dy: dyp, weight: wp, dx: $0, workspace: wsp, accumulate: accumulate)
            }
            dw.withUnsafeMutableBufferPointer { dwp in db.withUnsafeMutableBufferPointer { dbp in
                convBackwardFilter(g, x: xp, dy: dyp, dWeight: dwp, dBias: dbp, workspace: wsp)
            } }
        }
    } } } }
    return ConvRun(y: y, dx: dx, dw: dw, db: db)
}

@Test(arguments: convCases.indices)
func convMatchesReference(_ caseIndex: Int) {
    let g = convCases[caseIndex]
    var rng = TestRNG(seed: UInt64(100 + caseIndex))
    let x = randomArray(g.inputCount, &rng), w = randomArray(g.weightCount, &rng)
    let b = randomArray(g.outChannels, &rng), dy = randomArray(g.outputCount, &rng)
    let fast = runFastConv(g, x: x, w: w, b: b, dy: dy)
    let refY = Reference.convForward(g, x: doubles(x), weight: doubles(w), bias: doubles(b))
    let ref = Reference.convBackward(g, x: doubles(x), weight: doubles(w), dy: doubles(dy))
    expectClose(fast.y, refY, tol: 1e-5, "forward y")
    expectClose(fast.dx, ref.dx, tol: 1e-5, "dx")
    expectClose(fast.dw, ref.dWeight, tol: 1e-5, "dWeight")
    expectClose(fast.db, ref.dBias, tol: 1e-5, "dBias")

    // accumulate: dx must be added onto what is already there.
    let base = randomArray(g.inputCount, &rng)
    let acc = runFastConv(g, x: x, w: w, b: b, dy: dy, dxInit: base, accumulate: true)
    expectClose(acc.dx, zip(base, ref.dx).map { Double($0) + $1 }, tol: 1e-5, "dx accumulate")
}

@Test(arguments: convCases.indices)
func convGradientsMatchFiniteDifferences(_ caseIndex: Int) {
    let g = convCases[caseIndex]
    var rng = TestRNG(seed: UInt64(200 + caseIndex))
    let x = randomArray(g.inputCount, &rng), w = randomArray(g.weightCount, &rng)
    let b = randomArray(g.outChannels, &rng), dy = randomArray(g.outputCount, &rng)
    let fast = runFastConv(g, x: x, w: w, b: b, dy: dy)
    let (xd, wd, bd, r) = (doubles(x), doubles(w), doubles(b), doubles(dy))
    expectGradient(fast.dx, at: xd, "conv dx") { convLoss(g, $0, wd, bd, r) }
    expectGradient(fast.dw, at: wd, "conv dWeight") { convLoss(g, xd, $0, bd, r) }
    expectGradient(fast.db, at: bd, "conv dBias") { convLoss(g, xd, wd, $0, r) }
}

private func convLoss(_ g: ConvGeometry, _ x: [Double], _ w: [Double], _ b: [Double], _ r: [Double]) -> Double {
    weightedSum(Reference.convForward(g, x: x, weight: w, bias: b), r)
}

/// Which taps touch data: the centre alone on a 1x1 map, four for 3x3/2 from 2x2, all of them
/// once the map is as large as the kernel's reach.
@Test func liveTapsAreThoseThatReadAPixel() {
    let onePixel = ConvGeometry(n: 1, inChannels: 1, height: 1, width: 1, outChannels: 1, kernelH: 3, kernelW: 3, padH: 1, padW: 1)
    #expect(onePixel.liveTaps == 1 << 4 && onePixel.unfoldedRows == 1)
    let strided = ConvGeometry(n: 1, inChannels: 2, height: 2, width: 2, outChannels: 1, kernelH: 3, kernelW: 3,
                               strideH: 2, strideW: 2, padH: 1, padW: 1)
    #expect(strided.liveTaps == 0b110_110_000 && strided.unfoldedRows == 8)
    let twoByTwo = ConvGeometry(n: 1, inChannels: 1, height: 2, width: 2, outChannels: 1, kernelH: 3, kernelW: 3, padH: 1, padW: 1)
    #expect(!twoByTwo.hasDeadTaps && twoByTwo.unfoldedRows == 9)
}

@Test func convGeometryShapes() {
    let g = ConvGeometry(n: 128, inChannels: 64, height: 24, width: 24, outChannels: 64,
                         kernelH: 3, kernelW: 3, padH: 1, padW: 1)
    #expect(g.outH == 24 && g.outW == 24)
    // 4 images of 576 columns: at least 2048 GEMM columns (the cache target alone gives 3).
    #expect(g.imagesPerChunk == 4)
    #expect(g.workspaceCount == 64 * 9 * 4 * 24 * 24)
    var small = g
    small.n = 2
    #expect(small.imagesPerChunk == 2 && small.workspaceCount == 64 * 9 * 2 * 24 * 24)
    // A smaller batch never needs more workspace than the capacity it was planned for.
    for n in 1...130 {
        var h = g
        h.n = n
        #expect(h.workspaceCount <= ConvGeometry(n: 130, inChannels: 64, height: 24, width: 24, outChannels: 64,
                                                 kernelH: 3, kernelW: 3, padH: 1, padW: 1).workspaceCount)
    }
    let early = ConvGeometry(n: 128, inChannels: 3, height: 96, width: 96, outChannels: 64, kernelH: 7, kernelW: 7,
                             strideH: 2, strideW: 2, padH: 3, padW: 3)
    #expect(early.imagesPerChunk == 1 << 20 / (3 * 49 * 48 * 48))
    let forced = ConvGeometry(n: 5, inChannels: 2, height: 4, width: 4, outChannels: 2, kernelH: 3, kernelW: 3,
                              padH: 1, padW: 1, chunkImages: 2)
    #expect(forced.imagesPerChunk == 2 && forced.workspaceCount == 18 * 2 * 16)
    let pw = ConvGeometry(n: 4, inChannels: 8, height: 5, width: 5, outChannels: 8, kernelH: 1, kernelW: 1)
    #expect(pw.isPointwise && pw.workspaceCount == 0)
    let s2 = ConvGeometry(n: 1, inChannels: 1, height: 96, width: 96, outChannels: 64, kernelH: 7, kernelW: 7,
                          strideH: 2, strideW: 2, padH: 3, padW: 3)
    #expect(s2.outH == 48 && s2.outW == 48)
}

/// Big enough that im2col/col2im take the multi-threaded path; one chunk, then 3 + 1 images.
@Test(arguments: [nil, 3] as [Int?])
func convLargeParallelPathMatchesReference(_ chunkImages: Int?) {
    let g = ConvGeometry(n: 4, inChannels: 8, height: 20, width: 20, outChannels: 4, kernelH: 3, kernelW: 3,
                         strideH: 1, strideW: 1, padH: 1, padW: 1, groups: 2, chunkImages: chunkImages)
    #expect(g.workspaceCount > parallelWorkThreshold)
    var rng = TestRNG(seed: 300)
    let x = randomArray(g.inputCount, &rng), w = randomArray(g.weightCount, &rng)
    let b = randomArray(g.outChannels, &rng), dy = randomArray(g.outputCount, &rng)
    let fast = runFastConv(g, x: x, w: w, b: b, dy: dy)
    let ref = Reference.convBackward(g, x: doubles(x), weight: doubles(w), dy: doubles(dy))
    expectClose(fast.y, Reference.convForward(g, x: doubles(x), weight: doubles(w), bias: doubles(b)), tol: 1e-5, "y")
    expectClose(fast.dx, ref.dx, tol: 1e-5, "dx")
    expectClose(fast.dw, ref.dWeight, tol: 1e-5, "dw")
}

/// The fused epilogue: `relu(conv(x) + bias + residual)` with the residual already in y (the
/// GEMMs accumulate), per chunk, on every awkward shape, with and without each part.
@Test(arguments: convCases.indices)
func convEpilogueMatchesReference(_ caseIndex: Int) {
    let g = convCases[caseIndex]
    var rng = TestRNG(seed: UInt64(300 + caseIndex))
    let x = randomArray(g.inputCount, &rng), w = randomArray(g.weightCount, &rng)
    let b = randomArray(g.outChannels, &rng), residual = randomArray(g.outputCount, &rng)
    let conv = Reference.convForward(g, x: doubles(x), weight: doubles(w), bias: doubles(b))
    for epilogue in [ConvEpilogue(accumulate: true), ConvEpilogue(relu: true), ConvEpilogue(accumulate: true, relu: true)] {
        var ws = [Float](repeating: .nan, count: max(g.workspaceCount, 1))
        var y = epilogue.accumulate ? residual : [Float](repeating: .nan, count: g.outputCount)
        x.ro { xp in w.ro { wp in b.ro { bp in ws.withUnsafeMutableBufferPointer { wsp in
            y.withUnsafeMutableBufferPointer { convForward(g, x: xp, weight: wp, bias: bp, y: $0, workspace: wsp, epilogue: epilogue) }
        } } } }
        let expected = conv.indices.map { i in
            let v = conv[i] + (epilogue.accumulate ? Double(residual[i]) : 0)
            return epilogue.relu ? max(v, 0) : v
        }
        expectClose(y, expected, tol: 1e-5, "\(epilogue)")
    }
}
