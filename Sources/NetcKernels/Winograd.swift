// 3x3 stride-1 convolution by Winograd's minimal filtering (Lavin & Gray 2016; the transforms
// are in WinogradTransforms.swift), on CNHW activations, as batched GEMMs on OpenBLAS.
//
// The output of one group is cut into m x m tiles; tile t reads the alpha x alpha input patch
// starting at (th*m - padH, tw*m - padW), alpha = m + 2. Per group, for a chunk of T tiles:
//   U[alpha², Cout/g, Cin/g] = G w Gᵀ            (filter transform, once per group and call)
//   V[alpha², Cin/g, T]      = Bᵀ d B            (input transform of the chunk's tiles)
//   M[ξ] = U[ξ] x V[ξ]       [Cout/g, T], for each of the alpha² points ξ (one GEMM each)
//   y tile                   = Aᵀ M A            (inverse transform, + bias, into y)
// Backward data is the forward "full" correlation of dy with the filter rotated by 180° and
// its in/out channels swapped (padding 2 - pad, which may be negative: a crop), so it runs the
// same machinery with U[ξ] = transform of w[co][ci] read as w'[ci][co] rotated.
// Backward filter transforms x tiles with Bᵀ d B and dy tiles with A dY Aᵀ and sums over tiles:
//   S[ξ][Cout/g, Cin/g] += dYhat[ξ][Cout/g, T] x Xhat[ξ][Cin/g, T]ᵀ   (GEMM beta = 1 after the
//   first chunk), then dW = Gᵀ S G.
//
// Chunks are runs of tile rows (one tile row = tilesW tiles of one image) over the whole
// batch, so the workspace is bounded however large an image is, and sized like im2col's
// (ConvGeometry.imagesPerChunk): V + M of one chunk about `winogradChunkTargetFloats`, but at
// least `winogradMinTiles` GEMM columns. The filter transform is done into the workspace on
// every call (it costs a few per cent of a GEMM pass at the shapes measured), so the caller
// keeps only PyTorch-layout weights.
//
// Determinism: every output element is computed by one fixed sequence of operations whatever
// the thread split (transforms are parallel over channels, each channel's tiles done by one
// thread in order; GEMM reductions run over a fixed k; chunks are summed in chunk order).

/// Which Winograd algorithm: the output tile size for a 3x3 filter.
public enum WinogradTile: Sendable, CaseIterable {
    /// F(2x2, 3x3): 4x4 input tiles, 16 GEMMs; float32 error close to direct convolution.
    case f2x2
    /// F(4x4, 3x3): 6x6 input tiles, 36 GEMMs, 4x fewer multiplies than direct; larger error.
    case f4x4

    /// Output tile side m.
    public var outputTile: Int { self == .f2x2 ? 2 : 4 }
    /// Input tile side alpha = m + 2.
    public var inputTile: Int { outputTile + 2 }
}

extension ConvGeometry {
    /// True when the Winograd kernels apply: a 3x3 kernel with stride 1 (ConvGeometry has no
    /// dilation). Any padding, size, batch and groups.
    public var winogradApplies: Bool {
        kernelH == 3 && kernelW == 3 && strideH == 1 && strideW == 1
    }

    /// Floats of workspace the three Winograd kernels need (one buffer serves all three):
    /// `alpha²*(Cout/g*Cin/g + (Cin/g + Cout/g)*T) + threads*slot` for the larger of the
    /// forward and backward-data plans (see `WinogradPlan.workspaceCount`). Never grows when
    /// `n` shrinks, so a workspace sized for the largest batch serves every smaller one.
    public func winogradWorkspaceCount(_ tile: WinogradTile) -> Int {
        precondition(winogradApplies, "winograd: needs a 3x3 stride-1 convolution")
        return max(WinogradPlan(forward: self, tile).workspaceCount,
                   WinogradPlan(backwardData: self, tile).workspaceCount)
    }

    /// Tiles per GEMM column block in the forward pass (`T` above), for reports and tests.
    public func winogradTilesPerChunk(_ tile: WinogradTile) -> Int {
        let p = WinogradPlan(forward: self, tile)
        return p.rowsPerChunk * p.tilesW
    }
}

/// Target floats of V + M per chunk (4 MiB, as im2col's `chunkTargetFloats`).
let winogradChunkTargetFloats = 1 << 20
/// Minimum tiles (GEMM columns) per chunk: narrower GEMMs run well below peak.
let winogradMinTiles = 1024

/// Forward convolution by Winograd: `y = conv(x, weight) + bias`, 3x3, stride 1.
///
///     let ws = UnsafeMutableBufferPointer<Float>.allocate(capacity: g.winogradWorkspaceCount(.f2x2))
///     winogradConvForward(g, tile: .f2x2, x: x, weight: w, bias: nil, y: y, workspace: ws)
/// - Parameters:
///   - x: `[Cin][N][H][W]`.
///   - weight: `[Cout][Cin/g][3][3]`.
///   - bias: `[Cout]` or nil.
///   - y: `[Cout][N][OH][OW]`, overwritten.
///   - workspace: at least `geometry.winogradWorkspaceCount(tile)` floats.
public func winogradConvForward(_ g: ConvGeometry, tile: WinogradTile,
                                x: UnsafeBufferPointer<Float>, weight: UnsafeBufferPointer<Float>,
                                bias: UnsafeBufferPointer<Float>?, y: UnsafeMutableBufferPointer<Float>,
                                workspace: UnsafeMutableBufferPointer<Float>) {
    checkWinogradBuffers(g, tile, x.count, y.count, weight.count, workspace.count)
    if let bias { precondition(bias.count >= g.outChannels, "winograd: bias too small") }
    winogradCorrelate(WinogradPlan(forward: g, tile), x: x.baseAddress!, weight: weight.baseAddress!,
                      flipWeight: false, bias: bias?.baseAddress, y: y.baseAddress!, accumulate: false,
                      workspace: workspace.baseAddress!)
}

/// Gradient with respect to the input by Winograd: `dx (+)= convᵀ(dy, weight)`, 3x3, stride 1.
/// - Parameters:
///   - dy: `[Cout][N][OH][OW]`; weight: `[Cout][Cin/g][3][3]`.
///   - dx: `[Cin][N][H][W]`; overwritten, or added to when `accumulate`.
///   - workspace: at least `geometry.winogradWorkspaceCount(tile)` floats.
public func winogradConvBackwardData(_ g: ConvGeometry, tile: WinogradTile,
                                     dy: UnsafeBufferPointer<Float>, weight: UnsafeBufferPointer<Float>,
                                     dx: UnsafeMutableBufferPointer<Float>,
                                     workspace: UnsafeMutableBufferPointer<Float>, accumulate: Bool) {
    checkWinogradBuffers(g, tile, dx.count, dy.count, weight.count, workspace.count)
    winogradCorrelate(WinogradPlan(backwardData: g, tile), x: dy.baseAddress!, weight: weight.baseAddress!,
                      flipWeight: true, bias: nil, y: dx.baseAddress!, accumulate: accumulate,
                      workspace: workspace.baseAddress!)
}

/// Gradients with respect to the weights (overwritten) and optionally the bias (overwritten),
/// by Winograd, 3x3, stride 1.
/// - Parameters:
///   - x: `[Cin][N][H][W]`; dy: `[Cout][N][OH][OW]`.
///   - dWeight: `[Cout][Cin/g][3][3]`; dBias: `[Cout]` or nil.
///   - workspace: at least `geometry.winogradWorkspaceCount(tile)` floats.
public func winogradConvBackwardFilter(_ g: ConvGeometry, tile: WinogradTile,
                                       x: UnsafeBufferPointer<Float>, dy: UnsafeBufferPointer<Float>,
                                       dWeight: UnsafeMutableBufferPointer<Float>,
                                       dBias: UnsafeMutableBufferPointer<Float>?,
                                       workspace: UnsafeMutableBufferPointer<Float>) {
    checkWinogradBuffers(g, tile, x.count, dy.count, dWeight.count, workspace.count)
    let plan = WinogradPlan(forward: g, tile)
    let (xp, dyp, dwp, wsp) = (x.baseAddress!, dy.baseAddress!, dWeight.baseAddress!, workspace.baseAddress!)
    // One specialised copy per algorithm (a generic call through `any WinogradTransform.Type`
    // would not be specialised).
    switch tile {
    case .f2x2: winogradFilterGradient(plan, WinogradF2.self, x: xp, dy: dyp, dWeight: dwp, workspace: wsp)
    case .f4x4: winogradFilterGradient(plan, WinogradF4.self, x: xp, dy: dyp, dWeight: dwp, workspace: wsp)
    }
    if let dBias {
        precondition(dBias.count >= g.outChannels, "winograd: dBias too small")
        channelSums(dy.baseAddress!, channels: g.outChannels, plane: g.n * g.outH * g.outW, into: dBias.baseAddress!)
    }
}

@inline(__always)
private func checkWinogradBuffers(_ g: ConvGeometry, _ tile: WinogradTile, _ xCount: Int, _ yCount: Int,
                                  _ wCount: Int, _ wsCount: Int) {
    precondition(g.winogradApplies, "winograd: needs a 3x3 stride-1 convolution")
    precondition(xCount >= g.inputCount, "winograd: input buffer too small")
    precondition(yCount >= g.outputCount, "winograd: output buffer too small")
    precondition(wCount >= g.weightCount, "winograd: weight buffer too small")
    precondition(wsCount >= g.winogradWorkspaceCount(tile), "winograd: workspace too small")
}

/// One stride-1 3x3 correlation as the Winograd kernels see it: `inC` channels of `h x w`
/// images in, `outC` channels of `oh x ow` out, the input read at offset `-pad` (a negative
/// pad crops). The forward pass and the backward-data pass (channels and sizes swapped) are
/// both plans of this kind.
struct WinogradPlan {
    let n: Int, groups: Int, inC: Int, outC: Int     // inC, outC: channels per group
    let h: Int, w: Int, oh: Int, ow: Int, padH: Int, padW: Int
    let m: Int, alpha: Int
    let tilesH: Int, tilesW: Int
    /// Tile rows (tilesW tiles each, of one image) per chunk.
    let rowsPerChunk: Int
    /// Row length of the per-thread staging buffers: input-side (tilesW*m + 2 columns) and
    /// output-side (tilesW*m), rounded up to whole SIMD vectors.
    let inRow: Int, outRow: Int

    init(n: Int, groups: Int, inC: Int, outC: Int, h: Int, w: Int, oh: Int, ow: Int, padH: Int, padW: Int,
         tile: WinogradTile, chunkImages: Int?) {
        self.n = n; self.groups = groups; self.inC = inC; self.outC = outC
        self.h = h; self.w = w; self.oh = oh; self.ow = ow; self.padH = padH; self.padW = padW
        m = tile.outputTile; alpha = tile.inputTile
        tilesH = (oh + m - 1) / m; tilesW = (ow + m - 1) / m
        let rows = n * tilesH
        if let chunkImages {
            rowsPerChunk = max(1, min(rows, chunkImages * tilesH))
        } else {
            let byCache = winogradChunkTargetFloats / max(1, alpha * alpha * (inC + outC) * tilesW)
            let byColumns = (winogradMinTiles + tilesW - 1) / tilesW
            rowsPerChunk = max(1, min(rows, max(byCache, byColumns)))
        }
        let v = winogradVectorWidth
        inRow = (tilesW * m + 2 + v - 1) / v * v
        outRow = (tilesW * m + v - 1) / v * v
    }

    init(forward g: ConvGeometry, _ tile: WinogradTile) {
        self.init(n: g.n, groups: g.groups, inC: g.groupInChannels, outC: g.groupOutChannels,
                  h: g.height, w: g.width, oh: g.outH, ow: g.outW, padH: g.padH, padW: g.padW,
                  tile: tile, chunkImages: g.chunkImages)
    }

    /// dx = full correlation of dy with the rotated filter: pad 2 - p turns OH back into H.
    init(backwardData g: ConvGeometry, _ tile: WinogradTile) {
        self.init(n: g.n, groups: g.groups, inC: g.groupOutChannels, outC: g.groupInChannels,
                  h: g.outH, w: g.outW, oh: g.height, ow: g.width, padH: 2 - g.padH, padW: 2 - g.padW,
                  tile: tile, chunkImages: g.chunkImages)
    }

    var tilesPerChunk: Int { rowsPerChunk * tilesW }
    /// U (or S): `[alpha², outC, inC]`.
    var filterCount: Int { alpha * alpha * outC * inC }
    /// Per-thread scratch: input staging + its column pass `[2][alpha][inRow]`, or output
    /// staging `[alpha + m][outRow]`, or a filter's `[alpha][3] + [alpha][alpha]`.
    var slotCount: Int { max(2 * alpha * inRow, (alpha + m) * outRow, 3 * alpha + alpha * alpha) }
    /// U + V `[alpha², inC, T]` + M `[alpha², outC, T]` + one slot per thread.
    var workspaceCount: Int {
        filterCount + alpha * alpha * (inC + outC) * tilesPerChunk + kernelThreadCount * slotCount
    }
}

/// Workspace regions of one plan; the slots are per-thread scratch.
private struct WinogradWorkspace {
    let u: UnsafeMutablePointer<Float>, v: UnsafeMutablePointer<Float>, mm: UnsafeMutablePointer<Float>
    let slots: UnsafeMutablePointer<Float>
    init(_ p: WinogradPlan, _ base: UnsafeMutablePointer<Float>) {
        u = base                                             // [alpha², outC, inC]
        v = u + p.filterCount                                // [alpha², inC, T]
        mm = v + p.alpha * p.alpha * p.inC * p.tilesPerChunk // [alpha², outC, T]
        slots = mm + p.alpha * p.alpha * p.outC * p.tilesPerChunk
    }
}

/// Runs `body(slot, items)` over `0..<count` split across threads; each part gets its own
/// `slotCount`-float scratch. Items must not depend on one another (results then do not depend
/// on the split).
@inline(__always)
private func parallelSlots(_ count: Int, workPerItem: Int, slots: UnsafeMutablePointer<Float>, slotCount: Int,
                           _ body: (UnsafeMutablePointer<Float>, Range<Int>) -> Void) {
    let parts = min(kernelThreadCount, count)
    if parts <= 0 { return }
    parallelFor(parts, workPerItem: workPerItem * ((count + parts - 1) / parts)) { range in
        for part in range {
            body(slots + part * slotCount, (part * count / parts)..<((part + 1) * count / parts))
        }
    }
}

/// Calls `body` with consecutive tile-row ranges of at most `p.rowsPerChunk` covering the batch.
@inline(__always)
private func forEachTileChunk(_ p: WinogradPlan, _ body: (Range<Int>) -> Void) {
    let rows = p.n * p.tilesH
    var r0 = 0
    while r0 < rows {
        let r1 = min(rows, r0 + p.rowsPerChunk)
        body(r0..<r1)
        r0 = r1
    }
}

/// y (+)= correlate(x, w) (+ bias) per the plan: the forward pass, or backward data when
/// `flipWeight` (w read as rotated and in/out-transposed).
private func winogradCorrelate(_ p: WinogradPlan, x: UnsafePointer<Float>, weight: UnsafePointer<Float>,
                               flipWeight: Bool, bias: UnsafePointer<Float>?, y: UnsafeMutablePointer<Float>,
                               accumulate: Bool, workspace: UnsafeMutablePointer<Float>) {
    // One specialised copy per algorithm, as in winogradConvBackwardFilter.
    if p.m == WinogradF2.m {
        winogradCorrelate(p, WinogradF2.self, x: x, weight: weight, flipWeight: flipWeight, bias: bias, y: y,
                          accumulate: accumulate, workspace: workspace)
    } else {
        winogradCorrelate(p, WinogradF4.self, x: x, weight: weight, flipWeight: flipWeight, bias: bias, y: y,
                          accumulate: accumulate, workspace: workspace)
    }
}

private func winogradCorrelate<T: WinogradTransform>(_ p: WinogradPlan, _: T.Type,
                                                     x: UnsafePointer<Float>, weight: UnsafePointer<Float>,
                                                     flipWeight: Bool, bias: UnsafePointer<Float>?,
                                                     y: UnsafeMutablePointer<Float>, accumulate: Bool,
                                                     workspace: UnsafeMutablePointer<Float>) {
    let ws = WinogradWorkspace(p, workspace)
    let a2 = p.alpha * p.alpha, inPlane = p.n * p.h * p.w, outPlane = p.n * p.oh * p.ow
    for grp in 0..<p.groups {
        let xg = x + grp * p.inC * inPlane, yg = y + grp * p.outC * outPlane
        // The group's block of w `[Cout][Cin/g][3][3]` (Cout/g * Cin/g filters, either way round).
        let wg = weight + grp * p.inC * p.outC * 9
        transformFilter(p, T.self, weight: wg, flip: flipWeight, u: ws.u, slots: ws.slots)
        forEachTileChunk(p) { rows in
            let tc = rows.count * p.tilesW
            transformInput(p, T.self, x: xg, rows: rows, v: ws.v, slots: ws.slots)
            for xi in 0..<a2 {
                // M[ξ][outC, T] = U[ξ][outC, inC] x V[ξ][inC, T]
                gemm(m: p.outC, n: tc, k: p.inC, a: ws.u + xi * p.outC * p.inC, lda: p.inC,
                     b: ws.v + xi * p.inC * tc, ldb: tc, c: ws.mm + xi * p.outC * tc, ldc: tc)
            }
            transformOutput(p, T.self, mm: ws.mm, rows: rows, y: yg, bias: bias.map { $0 + grp * p.outC },
                            accumulate: accumulate, slots: ws.slots)
        }
    }
}

/// dW = Gᵀ [Σ_tiles (A dY Aᵀ) ⊙ (Bᵀ x B)] G per the forward plan.
private func winogradFilterGradient<T: WinogradTransform>(_ p: WinogradPlan, _: T.Type,
                                                          x: UnsafePointer<Float>, dy: UnsafePointer<Float>,
                                                          dWeight: UnsafeMutablePointer<Float>,
                                                          workspace: UnsafeMutablePointer<Float>) {
    let ws = WinogradWorkspace(p, workspace)
    let a2 = p.alpha * p.alpha, inPlane = p.n * p.h * p.w, outPlane = p.n * p.oh * p.ow
    for grp in 0..<p.groups {
        let xg = x + grp * p.inC * inPlane, dyg = dy + grp * p.outC * outPlane
        forEachTileChunk(p) { rows in
            let tc = rows.count * p.tilesW
            transformInput(p, T.self, x: xg, rows: rows, v: ws.v, slots: ws.slots)          // Xhat
            transformGradient(p, T.self, dy: dyg, rows: rows, mm: ws.mm, slots: ws.slots)   // dYhat
            for xi in 0..<a2 {
                // S[ξ][outC, inC] (+)= dYhat[ξ][outC, T] x Xhat[ξ][inC, T]ᵀ
                gemm(transB: true, m: p.outC, n: p.inC, k: tc, a: ws.mm + xi * p.outC * tc, lda: tc,
                     b: ws.v + xi * p.inC * tc, ldb: tc, beta: rows.lowerBound == 0 ? 0 : 1,
                     c: ws.u + xi * p.outC * p.inC, ldc: p.inC)
            }
        }
        inverseFilter(p, T.self, s: ws.u, dWeight: dWeight + grp * p.outC * p.inC * 9, slots: ws.slots)
    }
}

/// U[ξ][o][i] = (G w[o][i] Gᵀ)[ξ] for one group: `w` is `[outC][inC][3][3]`, or with `flip`
/// `[inC][outC][3][3]` read rotated by 180° (backward data).
private func transformFilter<T: WinogradTransform>(_ p: WinogradPlan, _: T.Type, weight: UnsafePointer<Float>,
                                                   flip: Bool, u: UnsafeMutablePointer<Float>,
                                                   slots: UnsafeMutablePointer<Float>) {
    let alpha = p.alpha, stride = p.outC * p.inC    // distance between the alpha² matrices
    parallelSlots(p.outC, workPerItem: p.inC * alpha * alpha * 4, slots: slots, slotCount: p.slotCount) { slot, outs in
        let rot = slot, g3 = slot + 3 * alpha        // [3][3] rotated copy, then G g: [alpha][3]
        for o in outs {
            for i in 0..<p.inC {
                var src = weight + (o * p.inC + i) * 9
                if flip {
                    let s = weight + (i * p.outC + o) * 9
                    for k in 0..<9 { rot[k] = s[8 - k] }
                    src = UnsafePointer(rot)
                }
                // Columns then rows: g3 = G g ([alpha][3]); U = g3 Gᵀ, scattered to [ξ][o][i].
                for c in 0..<3 { T.filter(src + c, 3, g3 + c, 3, Float.self) }
                let dst = u + o * p.inC + i
                for r in 0..<alpha { T.filter(g3 + r * 3, 1, dst + r * alpha * stride, stride, Float.self) }
            }
        }
    }
}

/// V[ξ][c][t] = (Bᵀ d B)[ξ] for the tiles of `rows` (t counts from the chunk's first tile):
/// per channel and tile row, stage the alpha input rows zero-padded, transform down the
/// columns (SIMD across columns), then along each tile's row.
private func transformInput<T: WinogradTransform>(_ p: WinogradPlan, _: T.Type, x: UnsafePointer<Float>,
                                                  rows: Range<Int>, v: UnsafeMutablePointer<Float>,
                                                  slots: UnsafeMutablePointer<Float>) {
    let (alpha, m, tilesW, tilesH, inRow) = (p.alpha, p.m, p.tilesW, p.tilesH, p.inRow)
    let tc = rows.count * tilesW, xiStride = p.inC * tc          // between V's alpha² matrices
    // Columns of a staged row that come from x (the rest is padding): x column = col - padW.
    let colLo = max(0, min(inRow, p.padW)), colHi = max(colLo, min(inRow, p.padW + p.w))
    parallelSlots(p.inC, workPerItem: tc * alpha * alpha, slots: slots, slotCount: p.slotCount) { slot, channels in
        let stage = slot, cols = slot + alpha * inRow           // [alpha][inRow] each
        for c in channels {
            let xc = x + c * p.n * p.h * p.w                      // [N][H][W] of channel c
            var t = 0
            for r in rows {
                let img = r / tilesH, th = r % tilesH
                for i in 0..<alpha {
                    let dst = stage + i * inRow, ih = th * m - p.padH + i
                    if ih < 0 || ih >= p.h {
                        dst.update(repeating: 0, count: inRow)
                        continue
                    }
                    dst.update(repeating: 0, count: colLo)
                    (dst + colLo).update(from: xc + (img * p.h + ih) * p.w + (colLo - p.padW), count: colHi - colLo)
                    (dst + colHi).update(repeating: 0, count: inRow - colHi)
                }
                var col = 0
                while col < inRow {
                    T.input(stage + col, inRow, cols + col, inRow, WinogradVector.self)
                    col &+= winogradVectorWidth
                }
                let vt = v + c * tc + t                           // V[0][c][t]
                for tw in 0..<tilesW {
                    for i in 0..<alpha {
                        T.input(cols + i * inRow + tw * m, 1, vt + tw + i * alpha * xiStride, xiStride, Float.self)
                    }
                }
                t += tilesW
            }
        }
    }
}

/// y tile = Aᵀ M A for the tiles of `rows`, plus bias, written (or added when `accumulate`)
/// where it lies inside `[OH][OW]`.
private func transformOutput<T: WinogradTransform>(_ p: WinogradPlan, _: T.Type, mm: UnsafePointer<Float>,
                                                   rows: Range<Int>, y: UnsafeMutablePointer<Float>,
                                                   bias: UnsafePointer<Float>?, accumulate: Bool,
                                                   slots: UnsafeMutablePointer<Float>) {
    let (alpha, m, tilesW, tilesH, outRow) = (p.alpha, p.m, p.tilesW, p.tilesH, p.outRow)
    let tc = rows.count * tilesW, xiStride = p.outC * tc
    parallelSlots(p.outC, workPerItem: tc * alpha * alpha, slots: slots, slotCount: p.slotCount) { slot, channels in
        let rowsT = slot, out = slot + alpha * outRow           // [alpha][outRow], [m][outRow]
        // Columns past tilesW*m are never written below but are read by the SIMD pass.
        for i in 0..<alpha { (rowsT + i * outRow + tilesW * m).update(repeating: 0, count: outRow - tilesW * m) }
        for c in channels {
            let yc = y + c * p.n * p.oh * p.ow, b: Float = bias?[c] ?? 0
            var t = 0
            for r in rows {
                let img = r / tilesH, th = r % tilesH
                let mt = mm + c * tc + t                          // M[0][c][t]
                for tw in 0..<tilesW {
                    for i in 0..<alpha {
                        T.output(mt + tw + i * alpha * xiStride, xiStride, rowsT + i * outRow + tw * m, 1, Float.self)
                    }
                }
                var col = 0
                while col < outRow {
                    T.output(rowsT + col, outRow, out + col, outRow, WinogradVector.self)
                    col &+= winogradVectorWidth
                }
                for i in 0..<min(m, p.oh - th * m) {
                    let dst = yc + (img * p.oh + th * m + i) * p.ow, src = out + i * outRow
                    if accumulate {
                        for j in 0..<p.ow { dst[j] += src[j] + b }
                    } else {
                        for j in 0..<p.ow { dst[j] = src[j] + b }
                    }
                }
                t += tilesW
            }
        }
    }
}

/// dYhat[ξ][c][t] = (A dY Aᵀ)[ξ] for the m x m output-gradient tiles of `rows` (zero past the
/// edge of `[OH][OW]`).
private func transformGradient<T: WinogradTransform>(_ p: WinogradPlan, _: T.Type, dy: UnsafePointer<Float>,
                                                     rows: Range<Int>, mm: UnsafeMutablePointer<Float>,
                                                     slots: UnsafeMutablePointer<Float>) {
    let (alpha, m, tilesW, tilesH, outRow) = (p.alpha, p.m, p.tilesW, p.tilesH, p.outRow)
    let tc = rows.count * tilesW, xiStride = p.outC * tc
    parallelSlots(p.outC, workPerItem: tc * alpha * alpha, slots: slots, slotCount: p.slotCount) { slot, channels in
        let stage = slot, cols = slot + m * outRow              // [m][outRow], [alpha][outRow]
        for c in channels {
            let dyc = dy + c * p.n * p.oh * p.ow
            var t = 0
            for r in rows {
                let img = r / tilesH, th = r % tilesH
                for i in 0..<m {
                    let dst = stage + i * outRow, oh = th * m + i
                    if oh >= p.oh {
                        dst.update(repeating: 0, count: outRow)
                        continue
                    }
                    dst.update(from: dyc + (img * p.oh + oh) * p.ow, count: p.ow)
                    (dst + p.ow).update(repeating: 0, count: outRow - p.ow)
                }
                var col = 0
                while col < outRow {
                    T.outputAdjoint(stage + col, outRow, cols + col, outRow, WinogradVector.self)
                    col &+= winogradVectorWidth
                }
                let dt = mm + c * tc + t                          // dYhat[0][c][t]
                for tw in 0..<tilesW {
                    for i in 0..<alpha {
                        T.outputAdjoint(cols + i * outRow + tw * m, 1, dt + tw + i * alpha * xiStride, xiStride,
                                        Float.self)
                    }
                }
                t += tilesW
            }
        }
    }
}

/// dW[o][i] = Gᵀ S[·][o][i] G (3x3) for one group; `s` is `[alpha², outC, inC]`, dW `[outC][inC][3][3]`.
private func inverseFilter<T: WinogradTransform>(_ p: WinogradPlan, _: T.Type, s: UnsafePointer<Float>,
                                                 dWeight: UnsafeMutablePointer<Float>,
                                                 slots: UnsafeMutablePointer<Float>) {
    let alpha = p.alpha, stride = p.outC * p.inC
    parallelSlots(p.outC, workPerItem: p.inC * alpha * alpha * 4, slots: slots, slotCount: p.slotCount) { slot, outs in
        let rowsT = slot                                         // [alpha][3]: each row of S times G
        for o in outs {
            for i in 0..<p.inC {
                let src = s + o * p.inC + i
                for r in 0..<alpha { T.filterAdjoint(src + r * alpha * stride, stride, rowsT + r * 3, 1, Float.self) }
                let dst = dWeight + (o * p.inC + i) * 9
                for c in 0..<3 { T.filterAdjoint(rowsT + c, 3, dst + c, 3, Float.self) }
            }
        }
    }
}
