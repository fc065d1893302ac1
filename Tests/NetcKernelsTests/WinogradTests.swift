import Testing
import NetcKernels

/// 3x3 stride-1 shapes the Winograd kernels must cover: odd and non-square maps, maps smaller
/// than one tile (1x1, 2x3), padding 0, 1 and 2 (and 3, a crop in backward data), groups 1, 2
/// and 4, batch 1 and several, and batches cut into many chunks with a partial last one.
let winogradCases: [ConvGeometry] = [
    ConvGeometry(n: 2, inChannels: 3, height: 5, width: 7, outChannels: 4, kernelH: 3, kernelW: 3, padH: 1, padW: 1),
    ConvGeometry(n: 1, inChannels: 4, height: 9, width: 6, outChannels: 6, kernelH: 3, kernelW: 3, groups: 2),
    ConvGeometry(n: 3, inChannels: 8, height: 7, width: 11, outChannels: 4, kernelH: 3, kernelW: 3,
                 padH: 2, padW: 2, groups: 4),
    // Maps smaller than a tile: 1x1 and 2x3 outputs.
    ConvGeometry(n: 2, inChannels: 5, height: 1, width: 1, outChannels: 3, kernelH: 3, kernelW: 3, padH: 1, padW: 1),
    ConvGeometry(n: 3, inChannels: 4, height: 4, width: 5, outChannels: 2, kernelH: 3, kernelW: 3, groups: 2),
    // Unequal padding per axis; pad 3 makes backward data's padding negative (a crop).
    ConvGeometry(n: 2, inChannels: 2, height: 6, width: 3, outChannels: 3, kernelH: 3, kernelW: 3, padH: 0, padW: 2),
    ConvGeometry(n: 1, inChannels: 3, height: 3, width: 4, outChannels: 2, kernelH: 3, kernelW: 3, padH: 3, padW: 1),
    // Several chunks, the last one partial: 2 + 2 + 1 images.
    ConvGeometry(n: 5, inChannels: 3, height: 9, width: 10, outChannels: 4, kernelH: 3, kernelW: 3,
                 padH: 1, padW: 1, chunkImages: 2),
    // ... with groups and pad 0: 3 + 3 + 1.
    ConvGeometry(n: 7, inChannels: 4, height: 8, width: 5, outChannels: 8, kernelH: 3, kernelW: 3,
                 groups: 4, chunkImages: 3),
    // ... one image per chunk, pad 2, groups 2.
    ConvGeometry(n: 3, inChannels: 6, height: 5, width: 13, outChannels: 4, kernelH: 3, kernelW: 3,
                 padH: 2, padW: 2, groups: 2, chunkImages: 1),
]

/// Tolerances on `scaledError` (max |error| / max(1, max |reference|)), in units of float32's
/// eps = 2⁻²³ ≈ 1.2e-7.
///
/// Why not im2col's 1e-5 for both: Winograd sums products in the transformed domain and then
/// transforms back, and every rounding error is multiplied by the transforms' constants. Bounding
/// each stage by the largest row sum of |entries| of its matrix (per axis, squared for 2-D) gives
/// the worst-case amplification over a direct sum of the same products:
///   F(2x2): ‖Bᵀ‖∞ = 2,  ‖G‖∞ = 1.5, ‖Aᵀ‖∞ = 3    ->  (2 * 1.5 * 3)²  ≈ 81
///   F(4x4): ‖Bᵀ‖∞ = 10, ‖G‖∞ = 0.5, ‖Aᵀ‖∞ = 19   ->  (10 * 0.5 * 19)² ≈ 9000
/// and F(4x4)'s G holds 1/6, 1/12 and 1/24, which float32 cannot store exactly. That worst case
/// needs every error aligned; random data's errors add like a random walk and come out far
/// smaller. Measured (2026-11, these cases): F(2x2) <= 6.2e-7 (5 eps), F(4x4) <= 5.5e-6 (46 eps);
/// on ResNet-18-like data (post-ReLU x, He-normal w, 64-512 channels) F(2x2) <= 6.2e-7 and
/// F(4x4) <= 1.2e-5 (100 eps), against im2col's <= 4.7e-7. The bounds are ~8x the test cases'
/// worst and ~4x the ResNet-like worst, still far inside the analytic amplification.
func winogradTolerance(_ tile: WinogradTile) -> Double {
    let eps = Double(Float.ulpOfOne)
    switch tile {
    case .f2x2: return 40 * eps     // ≈ 4.8e-6
    case .f4x4: return 400 * eps    // ≈ 4.8e-5
    }
}

struct WinogradRun: Equatable {
    var y: [Float], yNoBias: [Float], dx: [Float], dxAcc: [Float], dw: [Float], dwNoBias: [Float], db: [Float]
}

/// Runs all three Winograd kernels on one workspace (NaN-filled, so stale scratch would show):
/// forward with and without bias, backward data overwriting and accumulating onto `dxBase`,
/// backward filter with and without dBias.
func runWinograd(_ g: ConvGeometry, _ tile: WinogradTile, x: [Float], w: [Float], b: [Float], dy: [Float],
                 dxBase: [Float]) -> WinogradRun {
    var ws = [Float](repeating: .nan, count: g.winogradWorkspaceCount(tile))
    var r = WinogradRun(y: .init(repeating: .nan, count: g.outputCount), yNoBias: .init(repeating: .nan, count: g.outputCount),
                        dx: .init(repeating: .nan, count: g.inputCount), dxAcc: dxBase,
                        dw: .init(repeating: .nan, count: g.weightCount), dwNoBias: .init(repeating: .nan, count: g.weightCount),
                        db: .init(repeating: .nan, count: g.outChannels))
    x.ro { xp in w.ro { wp in b.ro { bp in dy.ro { dyp in ws.withUnsafeMutableBufferPointer { wsp in
        r.y.withUnsafeMutableBufferPointer {
            winogradConvForward(g, tile: tile, x: xp, weight: wp, bias: bp, y: $0, workspace: wsp)
        }
        r.yNoBias.withUnsafeMutableBufferPointer {
            winogradConvForward(g, tile: tile, x: xp, weight: wp, bias: nil, y: $0, workspace: wsp)
        }
        r.dx.withUnsafeMutableBufferPointer {
            winogradConvBackwardData(g, tile: tile, dy: dyp, weight: wp, dx: $0, workspace: wsp, accumulate: false)
        }
        r.dxAcc.withUnsafeMutableBufferPointer {
            winogradConvBackwardData(g, tile: tile, dy: dyp, weight: wp, dx: $0, workspace: wsp, accumulate: true)
        }
        r.dw.withUnsafeMutableBufferPointer { dwp in r.db.withUnsafeMutableBufferPointer { dbp in
            winogradConvBackwardFilter(g, tile: tile, x: xp, dy: dyp, dWeight: dwp, dBias: dbp, workspace: wsp)
        } }
        r.dwNoBias.withUnsafeMutableBufferPointer {
            winogradConvBackwardFilter(g, tile: tile, x: xp, dy: dyp, dWeight: $0, dBias: nil, workspace: wsp)
        }
    } } } } }
    return r
}

@Test(arguments: WinogradTile.allCases, winogradCases.indices)
func winogradMatchesReference(_ tile: WinogradTile, _ caseIndex: Int) {
    let g = winogradCases[caseIndex]
    #expect(g.winogradApplies)
    var rng = TestRNG(seed: UInt64(500 + caseIndex))
    let x = randomArray(g.inputCount, &rng), w = randomArray(g.weightCount, &rng)
    let b = randomArray(g.outChannels, &rng), dy = randomArray(g.outputCount, &rng)
    let base = randomArray(g.inputCount, &rng)
    let r = runWinograd(g, tile, x: x, w: w, b: b, dy: dy, dxBase: base)
    let refY = Reference.convForward(g, x: doubles(x), weight: doubles(w), bias: doubles(b))
    let refY0 = Reference.convForward(g, x: doubles(x), weight: doubles(w), bias: nil)
    let ref = Reference.convBackward(g, x: doubles(x), weight: doubles(w), dy: doubles(dy))
    let tol = winogradTolerance(tile)
    expectClose(r.y, refY, tol: tol, "\(tile) forward y")
    expectClose(r.yNoBias, refY0, tol: tol, "\(tile) forward y, no bias")
    expectClose(r.dx, ref.dx, tol: tol, "\(tile) dx")
    expectClose(r.dxAcc, zip(base, ref.dx).map { Double($0) + $1 }, tol: tol, "\(tile) dx accumulate")
    expectClose(r.dw, ref.dWeight, tol: tol, "\(tile) dWeight")
    expectClose(r.dwNoBias, ref.dWeight, tol: tol, "\(tile) dWeight, no dBias")
    expectClose(r.db, ref.dBias, tol: 1e-5, "\(tile) dBias")
}

/// Filters transformed ahead (`winogradTransformFilter`, as inference programs keep them) give
/// the forward's bits exactly, with groups, and on the multi-threaded schedules too.
@Test(arguments: WinogradTile.allCases, winogradCases.indices.map { $0 } + [-1, -2])
func winogradTransformedFiltersGiveTheSameBits(_ tile: WinogradTile, _ caseIndex: Int) {
    let g = caseIndex >= 0 ? winogradCases[caseIndex]
        : ConvGeometry(n: 8, inChannels: 32, height: 13, width: 11, outChannels: 24, kernelH: 3, kernelW: 3,
                       padH: 1, padW: 1, groups: -caseIndex)
    var rng = TestRNG(seed: UInt64(700 + caseIndex + 10))
    let x = randomArray(g.inputCount, &rng), w = randomArray(g.weightCount, &rng), b = randomArray(g.outChannels, &rng)
    var u = [Float](repeating: .nan, count: winogradTransformedFilterCount(g, tile: tile))
    var ws = [Float](repeating: .nan, count: g.winogradWorkspaceCount(tile))
    var direct = [Float](repeating: .nan, count: g.outputCount), ahead = direct
    w.ro { wp in u.withUnsafeMutableBufferPointer { winogradTransformFilter(g, tile: tile, weight: wp.baseAddress!, into: $0.baseAddress!) } }
    x.ro { xp in w.ro { wp in b.ro { bp in u.ro { up in ws.withUnsafeMutableBufferPointer { wsp in
        direct.withUnsafeMutableBufferPointer {
            winogradConvForward(g, tile: tile, x: xp, weight: wp, bias: bp, y: $0, workspace: wsp)
        }
        ahead.withUnsafeMutableBufferPointer {
            winogradConvForward(g, tile: tile, x: xp, weight: wp, bias: bp, y: $0, workspace: wsp, transformed: up.baseAddress!)
        }
    } } } } }
    #expect(!direct.contains { $0.isNaN })
    #expect(direct == ahead)
}

/// Same inputs, same bits: no reduction order depends on threads or timing. Big enough that, by
/// schedule: the transforms take the multi-threaded path (one group, one chunk); whole chunks
/// run at once on different threads (3 + 3 + 2 images), with the weight gradient in two partial
/// sums; whole groups run at once.
@Test(arguments: WinogradTile.allCases, [(1, nil), (1, 3), (2, 3)] as [(Int, Int?)])
func winogradIsDeterministic(_ tile: WinogradTile, _ schedule: (groups: Int, chunkImages: Int?)) {
    let g = ConvGeometry(n: 8, inChannels: 32, height: 13, width: 11, outChannels: 24, kernelH: 3, kernelW: 3,
                         padH: 1, padW: 1, groups: schedule.groups, chunkImages: schedule.chunkImages)
    if schedule.chunkImages == nil {
        #expect(g.winogradTilesPerChunk(tile) * 32 * tile.inputTile * tile.inputTile > parallelWorkThreshold)
    }
    var rng = TestRNG(seed: 600)
    let x = randomArray(g.inputCount, &rng), w = randomArray(g.weightCount, &rng)
    let b = randomArray(g.outChannels, &rng), dy = randomArray(g.outputCount, &rng)
    let base = randomArray(g.inputCount, &rng)
    let first = runWinograd(g, tile, x: x, w: w, b: b, dy: dy, dxBase: base)
    let second = runWinograd(g, tile, x: x, w: w, b: b, dy: dy, dxBase: base)
    #expect(first == second)   // bitwise: no NaNs here, so Float == is bit equality
}

/// Default chunking on a map big enough that a chunk ends inside an image (tile rows are the
/// unit), checked against the im2col kernels (themselves checked against the reference).
@Test(arguments: WinogradTile.allCases)
func winogradChunksSplitInsideImages(_ tile: WinogradTile) {
    let g = ConvGeometry(n: 4, inChannels: 16, height: 70, width: 66, outChannels: 16, kernelH: 3, kernelW: 3,
                         padH: 1, padW: 1)
    let m = tile.outputTile, tilesH = (g.outH + m - 1) / m, tilesW = (g.outW + m - 1) / m
    let rows = g.winogradTilesPerChunk(tile) / tilesW
    #expect(rows % tilesH != 0 && rows < g.n * tilesH, "rows per chunk \(rows), tile rows per image \(tilesH)")
    var rng = TestRNG(seed: 700)
    let x = randomArray(g.inputCount, &rng), w = randomArray(g.weightCount, &rng)
    let b = randomArray(g.outChannels, &rng), dy = randomArray(g.outputCount, &rng)
    let base = randomArray(g.inputCount, &rng)
    let r = runWinograd(g, tile, x: x, w: w, b: b, dy: dy, dxBase: base)
    let ref = runFastConv(g, x: x, w: w, b: b, dy: dy)
    let tol = winogradTolerance(tile)
    expectClose(r.y, ref.y, tol: tol, "\(tile) y")
    expectClose(r.dx, ref.dx, tol: tol, "\(tile) dx")
    // dW sums 4*70*66 products per entry: its scale is ~sqrt(14000) times y's, so the error
    // relative to it is of the same order as y's.
    expectClose(r.dw, ref.dw, tol: tol, "\(tile) dWeight")
}

/// GEMMs above OpenBLAS's small-matrix size (64 x T x 64 > 100³ multiply-adds: T = 480 tiles of
/// one image for F(2x2), 360 of three for F(4x4)) run one at a time on OpenBLAS's threads instead
/// of several at once; F(4x4)'s last chunk (one image) takes the other path. Checked against the
/// im2col kernels, as a Double reference of this size is slow.
@Test(arguments: WinogradTile.allCases)
func winogradLargeGemmsMatchIm2col(_ tile: WinogradTile) {
    let g = ConvGeometry(n: 4, inChannels: 64, height: 48, width: 40, outChannels: 64, kernelH: 3, kernelW: 3,
                         padH: 1, padW: 1, chunkImages: tile == .f2x2 ? 1 : 3)
    #expect(64 * g.winogradTilesPerChunk(tile) * 64 > 100 * 100 * 100)
    var rng = TestRNG(seed: 800)
    let x = randomArray(g.inputCount, &rng), w = randomArray(g.weightCount, &rng, range: -0.1...0.1)
    let b = randomArray(g.outChannels, &rng), dy = randomArray(g.outputCount, &rng)
    let base = randomArray(g.inputCount, &rng)
    let r = runWinograd(g, tile, x: x, w: w, b: b, dy: dy, dxBase: base)
    let ref = runFastConv(g, x: x, w: w, b: b, dy: dy)
    let tol = winogradTolerance(tile)
    expectClose(r.y, ref.y, tol: tol, "\(tile) y")
    expectClose(r.dx, ref.dx, tol: tol, "\(tile) dx")
    expectClose(r.dw, ref.dw, tol: tol, "\(tile) dWeight")
}

@Test func winogradGeometry() {
    let g = ConvGeometry(n: 128, inChannels: 64, height: 24, width: 24, outChannels: 64,
                         kernelH: 3, kernelW: 3, padH: 1, padW: 1)
    #expect(g.winogradApplies)
    var s2 = g
    s2.strideH = 2
    #expect(!s2.winogradApplies)
    let oneByOne = ConvGeometry(n: 1, inChannels: 4, height: 5, width: 5, outChannels: 4, kernelH: 1, kernelW: 1)
    #expect(!oneByOne.winogradApplies)
    // A workspace sized for the largest batch serves every smaller one: dense and grouped shapes
    // whose GEMMs are small or not, whose groups or chunks run at once or not.
    let shapes = [(64, 24, 1), (64, 24, 4), (128, 12, 1), (128, 12, 2), (256, 12, 2), (48, 7, 3), (512, 3, 32), (256, 2, 1)]
    for tile in WinogradTile.allCases {
        for (c, size, groups) in shapes {
            let geometry = ConvGeometry(n: 1, inChannels: c, height: size, width: size, outChannels: c,
                                        kernelH: 3, kernelW: 3, padH: 1, padW: 1, groups: groups)
            var previous = 0
            for n in 1...128 {
                var h = geometry
                h.n = n
                #expect(h.winogradWorkspaceCount(tile) >= previous, "\(tile) \(c)ch \(size)x\(size) g\(groups) n \(n)")
                previous = h.winogradWorkspaceCount(tile)
            }
        }
    }
}
