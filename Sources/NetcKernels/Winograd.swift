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
// (ConvGeometry.imagesPerChunk): V + M of one chunk about `winogradChunkTargetFloats` (L2), but
// at least `winogradMinTiles` and 2 tiles per channel (see there). When a chunk's GEMMs are
// small enough for OpenBLAS to run them on the calling thread, whole groups (when they split
// evenly over the threads) or whole chunks run at once, one per thread; the weight gradient then
// sums two fixed halves of the chunks separately and adds the two sums, else it runs 4x longer
// chunks in order (see `gemmRunsOnCallingThread`).
// The filter transform is done into the workspace on every call (vectorised, it is ~1% of the
// forward pass at 64 channels and ~10% at 512 with F(4x4), where U is 37 MB), so the caller
// keeps only PyTorch-layout weights and nothing goes stale when they change.
//
// Determinism: every output element is computed by one fixed sequence of operations whatever
// the thread split: transforms are parallel over channels, each channel's tiles done by one
// thread in order; each point ξ's GEMM is one call, on whichever thread (small ones run several
// at a time, see `forEachPoint`, or whole groups or chunks run at once, see
// `WinogradPlan.groupsAtOnce`, each writing only its own matrices and its own part of y);
// `gemm` splits a product's rows or columns across the cores, never k; the weight gradient
// sums its chunks in chunk order, or in two halves fixed by the shape (not by the core count)
// added first to second.

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

    /// Floats of workspace the three Winograd kernels need (one buffer serves all three): the
    /// largest of the forward, backward-data and weight-gradient plans', each
    /// `regions*alpha²*(Cout/g*Cin/g + (Cin/g + Cout/g)*T) + slots*(alpha²*T + 8*alpha)`
    /// (T: tiles per chunk; regions: groups or chunks run at once, up to the core count; see
    /// `WinogradPlan.workspaceCount`). Never grows when `n` shrinks, so a workspace sized for the
    /// largest batch serves every smaller one. Depends on the core count (a process constant).
    public func winogradWorkspaceCount(_ tile: WinogradTile) -> Int {
        precondition(winogradApplies, "winograd: needs a 3x3 stride-1 convolution")
        return max(WinogradPlan(forward: self, tile).workspaceCount,
                   WinogradPlan(backwardData: self, tile).workspaceCount,
                   WinogradPlan(filterGradient: self, tile).workspaceCount)
    }

    /// Tiles per GEMM column block in the forward pass (`T` above), for reports and tests.
    public func winogradTilesPerChunk(_ tile: WinogradTile) -> Int {
        let p = WinogradPlan(forward: self, tile)
        return p.rowsPerChunk * p.tilesW
    }
}

/// Target floats of V + M per chunk: 1 MiB, one core's L2 here, so the transforms' output is
/// still in cache when the GEMMs read it (4 MiB chunks were measured slower at 64 channels).
let winogradChunkTargetFloats = 1 << 18
/// Minimum tiles (GEMM columns) per chunk, at least `winogradTilesPerChannel` per channel: each
/// chunk streams all of U (alpha² * outC * inC floats) through the GEMMs, so with T >= 2*max(inC, outC)
/// re-reading U costs at most a quarter of the V + M traffic (narrower chunks were measured
/// 5-12% slower at 256 and 512 channels).
let winogradMinTiles = 64
let winogradTilesPerChannel = 2
/// The weight gradient's chunks are this many times longer: its GEMMs reduce over the chunk's
/// tiles (k = T) and read and write all of S each time, so short chunks cost more there
/// (measured 10-35% slower at 64 channels with the forward pass's chunks).
let winogradFilterChunkScale = 4

/// Forward convolution by Winograd: `y = conv(x, weight) + bias`, 3x3, stride 1.
///
///     let ws = UnsafeMutableBufferPointer<Float>.allocate(capacity: g.winogradWorkspaceCount(.f2x2))
///     winogradConvForward(g, tile: .f2x2, x: x, weight: w, bias: nil, y: y, workspace: ws)
/// - Parameters:
///   - x: `[Cin][N][H][W]`.
///   - weight: `[Cout][Cin/g][3][3]`.
///   - bias: `[Cout]` or nil.
///   - y: `[Cout][N][OH][OW]`, overwritten (added to with `epilogue.accumulate`).
///   - workspace: at least `geometry.winogradWorkspaceCount(tile)` floats.
///   - epilogue: the residual join already in `y` and the ReLU, fused into the output transform.
///   - transformed: `weight` as `winogradTransformFilter` transforms it, to skip that step (its
///     cost does not shrink with the batch: at batch 1 it was 6% of ResNet-18's inference).
public func winogradConvForward(_ g: ConvGeometry, tile: WinogradTile,
                                x: UnsafeBufferPointer<Float>, weight: UnsafeBufferPointer<Float>,
                                bias: UnsafeBufferPointer<Float>?, y: UnsafeMutableBufferPointer<Float>,
                                workspace: UnsafeMutableBufferPointer<Float>, epilogue: ConvEpilogue = .none,
                                transformed: UnsafePointer<Float>? = nil) {
    checkWinogradBuffers(g, tile, x.count, y.count, weight.count, workspace.count)
    if let bias { precondition(bias.count >= g.outChannels, "winograd: bias too small") }
    winogradCorrelate(WinogradPlan(forward: g, tile), x: x.baseAddress!, weight: weight.baseAddress!,
                      flipWeight: false, bias: bias?.baseAddress, y: y.baseAddress!, accumulate: epilogue.accumulate,
                      relu: epilogue.relu, workspace: workspace.baseAddress!, transformed: transformed)
}

/// Floats of a convolution's filters as the forward transforms them (U, every group's).
public func winogradTransformedFilterCount(_ g: ConvGeometry, tile: WinogradTile) -> Int {
    WinogradPlan(forward: g, tile).filterCount * g.groups
}

/// The forward's transformed filters U of every group, `[groups][alpha², Cout/g, Cin/g]`, for
/// `winogradConvForward(transformed:)`: the same values that call would compute.
public func winogradTransformFilter(_ g: ConvGeometry, tile: WinogradTile, weight: UnsafePointer<Float>,
                                    into u: UnsafeMutablePointer<Float>) {
    let p = WinogradPlan(forward: g, tile)
    withUnsafeTemporaryAllocation(of: Float.self, capacity: p.slotCount) { slot in
        for grp in 0..<g.groups {
            let wg = weight + grp * p.inC * p.outC * 9, ug = u + grp * p.filterCount
            if p.m == WinogradF2.m {
                transformFilter(p, WinogradF2.self, weight: wg, flip: false, u: ug, slots: slot.baseAddress!, parallel: false)
            } else {
                transformFilter(p, WinogradF4.self, weight: wg, flip: false, u: ug, slots: slot.baseAddress!, parallel: false)
            }
        }
    }
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
                      relu: false, workspace: workspace.baseAddress!)
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
    let plan = WinogradPlan(filterGradient: g, tile)
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
    /// `rowsPerChunk` for an unbounded batch: scheduling is decided at this size, so it does not
    /// change with `n` (and the workspace never shrinks as `n` grows).
    let fullRowsPerChunk: Int
    /// True for the weight gradient, which sums over chunks (so they run in order).
    let reducesOverChunks: Bool

    init(n: Int, groups: Int, inC: Int, outC: Int, h: Int, w: Int, oh: Int, ow: Int, padH: Int, padW: Int,
         tile: WinogradTile, chunkImages: Int?, chunkScale: Int = 1, reducesOverChunks: Bool = false) {
        self.n = n; self.groups = groups; self.inC = inC; self.outC = outC
        self.reducesOverChunks = reducesOverChunks
        self.h = h; self.w = w; self.oh = oh; self.ow = ow; self.padH = padH; self.padW = padW
        m = tile.outputTile; alpha = tile.inputTile
        tilesH = (oh + m - 1) / m; tilesW = (ow + m - 1) / m
        if let chunkImages {
            fullRowsPerChunk = max(1, chunkImages * tilesH)
        } else {
            let byCache = chunkScale * winogradChunkTargetFloats / max(1, alpha * alpha * (inC + outC) * tilesW)
            let minTiles = chunkScale * max(winogradMinTiles, winogradTilesPerChannel * max(inC, outC))
            let byColumns = (minTiles + tilesW - 1) / tilesW
            fullRowsPerChunk = max(1, byCache, byColumns)
        }
        let (rows, overflow) = n.multipliedReportingOverflow(by: tilesH)   // saturating, as `tileRows`
        rowsPerChunk = max(1, min(overflow ? Int.max : rows, fullRowsPerChunk))
    }

    init(forward g: ConvGeometry, _ tile: WinogradTile) {
        self.init(n: g.n, groups: g.groups, inC: g.groupInChannels, outC: g.groupOutChannels,
                  h: g.height, w: g.width, oh: g.outH, ow: g.outW, padH: g.padH, padW: g.padW,
                  tile: tile, chunkImages: g.chunkImages)
    }

    /// The weight gradient's: the forward tiling when its GEMMs are then small (see `partials`),
    /// else `winogradFilterChunkScale` times larger chunks. A choice by shape only, as the
    /// chunks decide the order of the sum.
    init(filterGradient g: ConvGeometry, _ tile: WinogradTile) {
        func plan(_ scale: Int) -> WinogradPlan {
            WinogradPlan(n: g.n, groups: g.groups, inC: g.groupInChannels, outC: g.groupOutChannels,
                         h: g.height, w: g.width, oh: g.outH, ow: g.outW, padH: g.padH, padW: g.padW,
                         tile: tile, chunkImages: g.chunkImages, chunkScale: scale, reducesOverChunks: true)
        }
        let small = plan(1)
        self = small.smallGemms ? small : plan(winogradFilterChunkScale)
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
    /// Tiles per chunk rounded up to whole SIMD vectors: the row length of the staging buffers.
    var tilesPad: Int { (tilesPerChunk + winogradVectorWidth - 1) / winogradVectorWidth * winogradVectorWidth }
    /// Per-thread scratch: the largest of the tile passes' `[alpha][alpha][tilesPad]` (input;
    /// the others use less) and the filter passes' `(alpha² + 3*alpha + 9) * 8`, plus a vector
    /// tail `[alpha][8]`.
    var slotCount: Int {
        let v = winogradVectorWidth
        return max(alpha * alpha * tilesPad, (alpha * alpha + 3 * alpha + 9) * v) + alpha * v
    }
    /// Tile rows of the whole batch (saturating: memory budgets ask about batches far too large to run).
    var tileRows: Int { let (r, overflow) = n.multipliedReportingOverflow(by: tilesH); return overflow ? Int.max : r }
    var chunkCount: Int { tileRows / rowsPerChunk + (tileRows % rowsPerChunk == 0 ? 0 : 1) }
    /// True when a full chunk's point GEMMs run on the calling thread (see
    /// `gemmRunsOnCallingThread`): `[outC, T] x [inC, T]ᵀ` for the weight gradient,
    /// `[outC, inC] x [inC, T]` otherwise. Judged at the full chunk size, so it does not depend
    /// on `n`; a smaller batch's GEMMs are smaller still.
    var smallGemms: Bool {
        let t = fullRowsPerChunk * tilesW
        return reducesOverChunks ? gemmRunsOnCallingThread(m: outC, n: inC, k: t)
                                 : gemmRunsOnCallingThread(m: outC, n: t, k: inC)
    }
    /// Groups processed at once, each by one thread that runs the whole group alone (its own U,
    /// V, M and slot): when the GEMMs run on the calling thread and the groups split evenly over
    /// the threads, or are many (ResNeXt's 4-32 groups of 16 channels: otherwise three short
    /// dispatches per group and chunk). Scheduling only: a group computes the same bits either way.
    var groupsAtOnce: Int { smallGemms ? groupsRunAtOnce(groups) : 1 }
    /// Chunks of one group processed at once, each by one thread with its own V and M: several
    /// when the GEMMs run on the calling thread and the groups do not already fill the threads
    /// (for the weight gradient, see `partials`). Scheduling only: a chunk computes the same bits
    /// either way. Never decreases when `n` grows.
    var chunksAtOnce: Int {
        if groupsAtOnce > 1 { return 1 }
        if reducesOverChunks { return partials }
        return smallGemms ? max(1, min(kernelThreadCount, chunkCount)) : 1
    }
    /// Weight gradient: partial sums S, each over a fixed contiguous share of the chunks (run at
    /// once when `chunksAtOnce` says so), added in order: `winogradFilterPartials` when the GEMMs
    /// are small and there are enough chunks, else 1. A shape constant, not the core count, so
    /// the sum's order is fixed.
    var partials: Int {
        reducesOverChunks && smallGemms ? min(winogradFilterPartials, chunkCount) : 1
    }
    /// Regions of U (or of the `partials` sums S): one per group at once.
    var filterRegions: Int { groupsAtOnce }
    /// Regions of V + M: one per group or chunk at once.
    var chunkRegions: Int { max(groupsAtOnce, chunksAtOnce) }
    /// Scratch slots: one per thread, and one per group or chunk at once.
    var slotsCount: Int { max(kernelThreadCount, chunkRegions) }
    /// U (or the S partial sums) per group at once + (V `[alpha², inC, T]` + M `[alpha², outC, T]`)
    /// per group or chunk at once + the scratch slots.
    var workspaceCount: Int {
        filterRegions * partials * filterCount + chunkRegions * alpha * alpha * (inC + outC) * tilesPerChunk
            + slotsCount * slotCount
    }
}

/// Workspace regions of one plan: U (or S) per group at once, one scratch slot per thread,
/// then V and M for each group or chunk at once.
private struct WinogradWorkspace {
    let slots: UnsafeMutablePointer<Float>
    private let base: UnsafeMutablePointer<Float>, chunks: UnsafeMutablePointer<Float>
    private let uCount: Int, slotCount: Int, vCount: Int, mCount: Int
    init(_ p: WinogradPlan, _ base: UnsafeMutablePointer<Float>) {
        self.base = base                                     // [filterRegions][partials][alpha², outC, inC]
        uCount = p.partials * p.filterCount
        slots = base + p.filterRegions * uCount              // [slotsCount][slotCount]
        slotCount = p.slotCount
        chunks = slots + p.slotsCount * p.slotCount          // [chunkRegions][V, M]
        vCount = p.alpha * p.alpha * p.inC * p.tilesPerChunk
        mCount = p.alpha * p.alpha * p.outC * p.tilesPerChunk
    }
    /// U `[alpha², outC, inC]`, or the S partial sums `[partials][alpha², outC, inC]`, of a group
    /// at once.
    func u(_ region: Int) -> UnsafeMutablePointer<Float> { base + region * uCount }
    /// The worker's scratch slot.
    func slot(_ worker: Int) -> UnsafeMutablePointer<Float> { slots + worker * slotCount }
    /// V `[alpha², inC, T]` of the worker's chunk.
    func v(_ worker: Int) -> UnsafeMutablePointer<Float> { chunks + worker * (vCount + mCount) }
    /// M `[alpha², outC, T]` (or dYhat) of the worker's chunk.
    func mm(_ worker: Int) -> UnsafeMutablePointer<Float> { v(worker) + vCount }
}

/// Runs `body(worker, items)` over `0..<count` in `workers` fixed contiguous shares, at once
/// (each on a thread of `parallelFor`).
@inline(__always)
private func forEachShare(_ count: Int, workers: Int, _ body: (_ worker: Int, _ items: Range<Int>) -> Void) {
    parallelFor(workers, workPerItem: parallelWorkThreshold) { range in
        for w in range { body(w, (w * count / workers)..<((w + 1) * count / workers)) }
    }
}

/// Scratch slot and items for one part of a split loop.
private typealias SlotBody = (_ slot: UnsafeMutablePointer<Float>, _ items: Range<Int>) -> Void

/// Runs `body(slot, items)` over `0..<count`: split across threads when `parallel` (each part
/// gets its own `slotCount`-float scratch), else in one go with the first slot (the caller is
/// itself one of several workers and `slots` is its own). Items must not depend on one another
/// (results then do not depend on the split).
@inline(__always)
private func parallelSlots(_ count: Int, workPerItem: Int, slots: UnsafeMutablePointer<Float>, slotCount: Int,
                           parallel: Bool = true, _ body: SlotBody) {
    if !parallel {
        body(slots, 0..<count)
        return
    }
    let parts = min(kernelThreadCount, count)
    if parts <= 0 { return }
    parallelFor(parts, workPerItem: workPerItem * ((count + parts - 1) / parts)) { range in
        for part in range {
            body(slots + part * slotCount, (part * count / parts)..<((part + 1) * count / parts))
        }
    }
}

/// Partial sums of the weight gradient run at once (see `WinogradPlan.partials`).
let winogradFilterPartials = 2

/// True when `gemm` runs this product on the calling thread (`gemmParts`). A chunk's alpha²
/// GEMMs of that kind would keep one core busy and the other idle, so whole chunks then run at
/// once, one per thread (`WinogradPlan.chunksAtOnce`, `partials`), or `forEachPoint` spreads the
/// points. Measured (64 channels, 24x24, batch 128, 2 cores): forward 40 -> 23 ms with F(2x2),
/// 21 -> 16 with F(4x4); ResNeXt's 4 groups of 16: 34 -> 22 and 21 -> 14, weight gradient
/// 22 -> 16, 12 -> 11. Larger GEMMs are split across the cores by `gemm` itself and must not
/// run two at a time.
func gemmRunsOnCallingThread(m: Int, n: Int, k: Int) -> Bool {
    gemmParts(m: m, n: n, k: k) == 1
}

/// Calls `body(ξ)` for the alpha² points: one at a time when the caller is itself one of several
/// workers (`parallel` false) or each GEMM uses OpenBLAS's threads (`small` false), else spread
/// over the cores with `parallelFor`. Each ξ writes only its own matrix, so the results do not
/// depend on the split.
@inline(__always)
private func forEachPoint(_ count: Int, small: Bool, parallel: Bool = true, _ body: (Int) -> Void) {
    if !parallel || !small {
        for xi in 0..<count { body(xi) }
        return
    }
    parallelFor(count, workPerItem: parallelWorkThreshold) { range in
        for xi in range { body(xi) }
    }
}

/// y (+)= correlate(x, w) (+ bias), then max(·, 0) when `relu`, per the plan: the forward pass,
/// or backward data when `flipWeight` (w read as rotated and in/out-transposed).
/// `transformed`: U of every group, already computed (forward only).
private func winogradCorrelate(_ p: WinogradPlan, x: UnsafePointer<Float>, weight: UnsafePointer<Float>,
                               flipWeight: Bool, bias: UnsafePointer<Float>?, y: UnsafeMutablePointer<Float>,
                               accumulate: Bool, relu: Bool, workspace: UnsafeMutablePointer<Float>,
                               transformed: UnsafePointer<Float>? = nil) {
    // One specialised copy per algorithm, as in winogradConvBackwardFilter.
    if p.m == WinogradF2.m {
        winogradCorrelate(p, WinogradF2.self, x: x, weight: weight, flipWeight: flipWeight, bias: bias, y: y,
                          accumulate: accumulate, relu: relu, workspace: workspace, transformed: transformed)
    } else {
        winogradCorrelate(p, WinogradF4.self, x: x, weight: weight, flipWeight: flipWeight, bias: bias, y: y,
                          accumulate: accumulate, relu: relu, workspace: workspace, transformed: transformed)
    }
}

private func winogradCorrelate<T: WinogradTransform>(_ p: WinogradPlan, _: T.Type,
                                                     x: UnsafePointer<Float>, weight: UnsafePointer<Float>,
                                                     flipWeight: Bool, bias: UnsafePointer<Float>?,
                                                     y: UnsafeMutablePointer<Float>, accumulate: Bool, relu: Bool,
                                                     workspace: UnsafeMutablePointer<Float>, transformed: UnsafePointer<Float>?) {
    let ws = WinogradWorkspace(p, workspace)
    let a2 = p.alpha * p.alpha, inPlane = p.n * p.h * p.w, outPlane = p.n * p.oh * p.ow
    let chunkCount = p.chunkCount, tileRows = p.tileRows
    /// One group; `alone`: the whole group on this thread, with worker `worker`'s regions.
    func group(_ grp: Int, worker: Int, alone: Bool) {
        let xg = x + grp * p.inC * inPlane, yg = y + grp * p.outC * outPlane
        let bg = bias.map { $0 + grp * p.outC }
        let u: UnsafePointer<Float>
        if let transformed {
            u = transformed + grp * p.filterCount
        } else {
            // The group's block of w `[Cout][Cin/g][3][3]` (Cout/g * Cin/g filters, either way round).
            let wg = weight + grp * p.inC * p.outC * 9
            transformFilter(p, T.self, weight: wg, flip: flipWeight, u: ws.u(worker), slots: ws.slot(worker), parallel: !alone)
            u = UnsafePointer(ws.u(worker))
        }
        /// One chunk, start to end, with worker `w`'s V, M and slot; `parallel`: spread its steps
        /// over the threads (else this thread is one of several workers).
        func chunk(_ rows: Range<Int>, _ w: Int, parallel: Bool) {
            let tc = rows.count * p.tilesW, v = ws.v(w), mm = ws.mm(w), slot = ws.slot(w)
            transformInput(p, T.self, x: xg, rows: rows, v: v, slots: slot, parallel: parallel)
            forEachPoint(a2, small: gemmRunsOnCallingThread(m: p.outC, n: tc, k: p.inC),
                         parallel: parallel) { xi in
                // M[ξ][outC, T] = U[ξ][outC, inC] x V[ξ][inC, T]
                gemm(m: p.outC, n: tc, k: p.inC, a: u + xi * p.outC * p.inC, lda: p.inC,
                     b: v + xi * p.inC * tc, ldb: tc, c: mm + xi * p.outC * tc, ldc: tc)
            }
            transformOutput(p, T.self, mm: mm, rows: rows, y: yg, bias: bg, accumulate: accumulate, relu: relu,
                            slots: slot, parallel: parallel)
        }
        func rows(_ c: Int) -> Range<Int> { c * p.rowsPerChunk..<min(tileRows, (c + 1) * p.rowsPerChunk) }
        if alone {
            for c in 0..<chunkCount { chunk(rows(c), worker, parallel: false) }
        } else if p.chunksAtOnce == 1 {
            for c in 0..<chunkCount { chunk(rows(c), 0, parallel: true) }
        } else {
            // Small GEMMs (OpenBLAS runs them on the calling thread): whole chunks at once, one
            // per worker, so the GEMMs use every core and each step is one dispatch for the group
            // instead of three per chunk. Chunks write disjoint parts of y.
            forEachShare(chunkCount, workers: p.chunksAtOnce) { w, chunks in
                for c in chunks { chunk(rows(c), w, parallel: false) }
            }
        }
    }
    if p.groupsAtOnce > 1 {
        forEachShare(p.groups, workers: p.groupsAtOnce) { w, groups in
            for grp in groups { group(grp, worker: w, alone: true) }
        }
    } else {
        for grp in 0..<p.groups { group(grp, worker: 0, alone: false) }
    }
}

/// dW = Gᵀ [Σ_tiles (A dY Aᵀ) ⊙ (Bᵀ x B)] G per the weight-gradient plan.
private func winogradFilterGradient<T: WinogradTransform>(_ p: WinogradPlan, _: T.Type,
                                                          x: UnsafePointer<Float>, dy: UnsafePointer<Float>,
                                                          dWeight: UnsafeMutablePointer<Float>,
                                                          workspace: UnsafeMutablePointer<Float>) {
    let ws = WinogradWorkspace(p, workspace)
    let a2 = p.alpha * p.alpha, inPlane = p.n * p.h * p.w, outPlane = p.n * p.oh * p.ow
    let parts = p.partials, chunkCount = p.chunkCount, tileRows = p.tileRows
    /// One group; `alone`: the whole group on this thread, with worker `worker`'s regions.
    func group(_ grp: Int, worker: Int, alone: Bool) {
        let xg = x + grp * p.inC * inPlane, dyg = dy + grp * p.outC * outPlane, s = ws.u(worker)
        /// Adds one chunk into partial sum `part` (overwrites it when `first`), with worker `w`'s
        /// V, M and slot; `parallel`: spread its steps over the threads.
        func chunk(_ c: Int, _ w: Int, part: Int, first: Bool, parallel: Bool) {
            let rows = c * p.rowsPerChunk..<min(tileRows, (c + 1) * p.rowsPerChunk)
            let tc = rows.count * p.tilesW, v = ws.v(w), mm = ws.mm(w), slot = ws.slot(w)
            transformInput(p, T.self, x: xg, rows: rows, v: v, slots: slot, parallel: parallel)         // Xhat
            transformGradient(p, T.self, dy: dyg, rows: rows, mm: mm, slots: slot, parallel: parallel)  // dYhat
            let sp = s + part * p.filterCount
            forEachPoint(a2, small: gemmRunsOnCallingThread(m: p.outC, n: p.inC, k: tc),
                         parallel: parallel) { xi in
                // S[ξ][outC, inC] (+)= dYhat[ξ][outC, T] x Xhat[ξ][inC, T]ᵀ
                gemm(transB: true, m: p.outC, n: p.inC, k: tc, a: mm + xi * p.outC * tc, lda: tc,
                     b: v + xi * p.inC * tc, ldb: tc, beta: first ? 0 : 1,
                     c: sp + xi * p.outC * p.inC, ldc: p.inC)
            }
        }
        /// The chunks of partial sum `part`: a fixed contiguous share, summed in order.
        func share(_ part: Int) -> Range<Int> { (part * chunkCount / parts)..<((part + 1) * chunkCount / parts) }
        if alone || p.chunksAtOnce == 1 {
            for part in 0..<parts {
                for c in share(part) {
                    chunk(c, worker, part: part, first: c == share(part).lowerBound, parallel: !alone)
                }
            }
        } else {
            // Small GEMMs: each partial sum on its own thread (as in winogradCorrelate).
            forEachShare(parts, workers: parts) { w, partsOfWorker in
                for part in partsOfWorker {
                    for c in share(part) { chunk(c, w, part: part, first: c == share(part).lowerBound, parallel: false) }
                }
            }
        }
        if parts > 1 { addPartialSums(s, count: p.filterCount, partials: parts, parallel: !alone) }
        inverseFilter(p, T.self, s: s, dWeight: dWeight + grp * p.outC * p.inC * 9, slots: ws.slot(worker),
                      parallel: !alone)
    }
    if p.groupsAtOnce > 1 {
        forEachShare(p.groups, workers: p.groupsAtOnce) { w, groups in
            for grp in groups { group(grp, worker: w, alone: true) }
        }
    } else {
        for grp in 0..<p.groups { group(grp, worker: 0, alone: false) }
    }
}

/// `s[0..<count] = s[0] + s[1] + ...`: the weight gradient's partial sums, stored `count` apart,
/// added in partial order (so the result does not depend on which thread made which).
private func addPartialSums(_ s: UnsafeMutablePointer<Float>, count: Int, partials: Int, parallel: Bool) {
    let add = { (range: Range<Int>) in
        for k in 1..<partials {
            let src = s + k * count
            for i in range { s[i] += src[i] }
        }
    }
    if parallel { parallelFor(count, workPerItem: partials, add) } else { add(0..<count) }
}

/// U[ξ][o][i] = (G w[o][i] Gᵀ)[ξ] for one group: `w` is `[outC][inC][3][3]`, or with `flip`
/// `[inC][outC][3][3]` read rotated by 180° (backward data). SIMD lanes are 8 consecutive input
/// channels i, so U's rows (contiguous in i) take vector stores: at 512 channels U is 37 MB for
/// F(4x4), and a filter at a time with scalar stores took a third of the forward pass.
private func transformFilter<T: WinogradTransform>(_ p: WinogradPlan, _: T.Type, weight: UnsafePointer<Float>,
                                                   flip: Bool, u: UnsafeMutablePointer<Float>,
                                                   slots: UnsafeMutablePointer<Float>, parallel: Bool) {
    let alpha = T.alpha, vw = winogradVectorWidth, stride = p.outC * p.inC   // between the alpha² matrices
    parallelSlots(p.outC, workPerItem: p.inC * alpha * alpha * 4, slots: slots, slotCount: p.slotCount,
                  parallel: parallel) { slot, outs in
        let g = slot                                            // [9][8]: the 8 filters, tap-major
        let g3 = g + 9 * vw                                     // [alpha][3][8]: G g
        let tail = g3 + 3 * alpha * vw                          // [alpha][alpha][8]
        for o in outs {
            var i = 0
            while i < p.inC {
                let lanes = min(vw, p.inC - i)
                for l in 0..<vw {
                    // Lanes past inC repeat the last filter; they are never stored.
                    let ci = i + min(l, lanes - 1)
                    if flip {
                        let src = weight + (ci * p.outC + o) * 9
                        for k in 0..<9 { g[k * vw + l] = src[8 - k] }
                    } else {
                        let src = weight + (o * p.inC + ci) * 9
                        for k in 0..<9 { g[k * vw + l] = src[k] }
                    }
                }
                // Columns then rows: g3 = G g; U = g3 Gᵀ, row r to U[r*alpha ..< (r+1)*alpha][o][i...].
                for c in 0..<3 { T.filter(g + c * vw, 3 * vw, g3 + c * vw, 3 * vw, WinogradVector.self) }
                let dst = u + o * p.inC + i
                if lanes == vw {
                    for r in 0..<alpha {
                        T.filter(g3 + r * 3 * vw, vw, dst + r * alpha * stride, stride, WinogradVector.self)
                    }
                } else {
                    for r in 0..<alpha { T.filter(g3 + r * 3 * vw, vw, tail + r * alpha * vw, vw, WinogradVector.self) }
                    for k in 0..<alpha * alpha { (dst + k * stride).update(from: tail + k * vw, count: lanes) }
                }
                i += vw
            }
        }
    }
}

// The tile transforms run on SIMD vectors whose lanes are consecutive tiles of the chunk (across
// tile rows and images, so small maps still fill every lane). Per channel, a staging buffer
// holds for each position of a tile the value at that position of every tile of the chunk
// (rows of `tilesPad`, lane = tile), so both 1-D passes are plain vector arithmetic, done in
// place (each transform reads all its inputs before writing), and the last pass stores
// straight into V's / dYhat's rows, contiguous in t. Only the chunk's last, partial vector
// goes through `tail`.

/// Runs a 1-D transform `body(lane, dst, ds)` over lanes `0..<count` in vectors, writing
/// `outputs` rows `ds` apart at `dst`; the last partial vector is computed into `tail`
/// (`[outputs][8]`) and only its valid lanes are copied out, since the lanes past `count` in
/// dst belong to another row (maybe another thread's).
@inline(__always)
private func transformLanes(_ count: Int, outputs: Int, dst: UnsafeMutablePointer<Float>, ds: Int,
                            tail: UnsafeMutablePointer<Float>,
                            _ body: (_ lane: Int, _ dst: UnsafeMutablePointer<Float>, _ ds: Int) -> Void) {
    let vw = winogradVectorWidth
    var t = 0
    while t &+ vw <= count {
        body(t, dst + t, ds)
        t &+= vw
    }
    if t < count {
        body(t, tail, vw)
        for k in 0..<outputs {
            let v = WinogradVector.load(tail + k &* vw), d = dst + k &* ds + t
            for l in 0..<(count &- t) { d[l] = v[l] }
        }
    }
}

/// V[ξ][c][t] = (Bᵀ d B)[ξ] for the tiles of `rows` (t counts from the chunk's first tile).
/// Per channel: stage `st[i][j][t]` = input at row i, column j of tile t (zero in the padding),
/// transform along rows in place (`st[i][ξ2][t]`), then down the rows into V.
private func transformInput<T: WinogradTransform>(_ p: WinogradPlan, _: T.Type, x: UnsafePointer<Float>,
                                                  rows: Range<Int>, v: UnsafeMutablePointer<Float>,
                                                  slots: UnsafeMutablePointer<Float>, parallel: Bool = true) {
    let (alpha, m, tilesW, tilesH, tp) = (T.alpha, T.m, p.tilesW, p.tilesH, p.tilesPad)   // alpha, m: constants
    let vw = winogradVectorWidth
    let tc = rows.count * tilesW, xiStride = p.inC * tc          // between V's alpha² matrices
    parallelSlots(p.inC, workPerItem: tc * alpha * alpha, slots: slots, slotCount: p.slotCount,
                  parallel: parallel) { slot, channels in
        let st = slot                                           // [alpha][alpha][tilesPad]
        let tail = st + alpha * alpha * tp                      // [alpha][8]
        // Lanes past tc are computed but never stored; keep them finite.
        for k in 0..<alpha * alpha { (st + k * tp + tc).update(repeating: 0, count: tp - tc) }
        // Tiles inLo..<inHi read all alpha columns inside x; the few others touch the padding.
        let inLo = min(tilesW, (p.padW + m - 1) / m), inHi = max(inLo, min(tilesW, (p.w + p.padW - alpha) / m + 1))
        for c in channels {
            let xc = x + c * p.n * p.h * p.w                      // [N][H][W] of channel c
            for (rl, r) in rows.enumerated() {
                let img = r / tilesH, th = r % tilesH, t0 = rl * tilesW
                for i in 0..<alpha {
                    let ih = th * m - p.padH + i, d = st + i * alpha * tp + t0    // st[i][j][t0 + tw] = d[j*tp + tw]
                    if ih < 0 || ih >= p.h {
                        for j in 0..<alpha { (d + j * tp).update(repeating: 0, count: tilesW) }
                        continue
                    }
                    let row = xc + (img * p.h + ih) * p.w                 // x[c][img][ih][·]
                    // Wrapping arithmetic: bounded indices, and this loop is the pass's hot spot.
                    @inline(__always) func edge(_ tw: Int) {
                        for j in 0..<alpha {
                            let col = tw &* m &+ j &- p.padW
                            d[j &* tp &+ tw] = col >= 0 && col < p.w ? row[col] : 0
                        }
                    }
                    for tw in 0..<inLo { edge(tw) }
                    var tw = inLo
                    while tw < inHi {
                        let s = row + (tw &* m &- p.padW)
                        for j in 0..<alpha { d[j &* tp &+ tw] = s[j] }
                        tw &+= 1
                    }
                    for tw in inHi..<tilesW { edge(tw) }
                }
            }
            for i in 0..<alpha {
                var t = 0
                while t < tc {
                    let row = st + i * alpha * tp + t
                    T.input(row, tp, row, tp, WinogradVector.self)
                    t &+= vw
                }
            }
            for x2 in 0..<alpha {
                // V[ξ1*alpha + x2][c][·], ξ1 = 0..<alpha, alpha*xiStride apart.
                transformLanes(tc, outputs: alpha, dst: v + x2 * xiStride + c * tc, ds: alpha * xiStride, tail: tail) {
                    t, d, ds in T.input(st + x2 * tp + t, alpha * tp, d, ds, WinogradVector.self)
                }
            }
        }
    }
}

/// y tile = Aᵀ M A for the tiles of `rows`, plus bias, written (or added when `accumulate`)
/// where it lies inside `[OH][OW]`, then clamped at 0 when `relu`. Per channel: M down the ξ1
/// axis into `st[i][ξ2][t]` (i < m), along in place to `st[i][j][t]`, then scattered into y.
private func transformOutput<T: WinogradTransform>(_ p: WinogradPlan, _: T.Type, mm: UnsafePointer<Float>,
                                                   rows: Range<Int>, y: UnsafeMutablePointer<Float>,
                                                   bias: UnsafePointer<Float>?, accumulate: Bool, relu: Bool,
                                                   slots: UnsafeMutablePointer<Float>, parallel: Bool = true) {
    let (alpha, m, tilesW, tilesH, tp) = (T.alpha, T.m, p.tilesW, p.tilesH, p.tilesPad)   // alpha, m: constants
    let vw = winogradVectorWidth
    let tc = rows.count * tilesW, xiStride = p.outC * tc
    parallelSlots(p.outC, workPerItem: tc * alpha * alpha, slots: slots, slotCount: p.slotCount,
                  parallel: parallel) { slot, channels in
        let st = slot                                           // [m][alpha][tilesPad]
        let tail = st + m * alpha * tp                          // [alpha][8]
        let fullTiles = p.ow / m                                // tiles wholly inside OW
        for c in channels {
            let yc = y + c * p.n * p.oh * p.ow, b: Float = bias?[c] ?? 0
            let mc = mm + c * tc                                  // M[0][c][·]
            for x2 in 0..<alpha {
                var t = 0
                while t < tc {
                    let src = mc + x2 * xiStride + t, lanes = tc - t
                    if lanes >= vw {
                        T.output(src, alpha * xiStride, st + x2 * tp + t, alpha * tp, WinogradVector.self)
                    } else {
                        // The chunk's last vector: lanes past tc are another channel's (or past M).
                        for k in 0..<alpha {
                            let s = src + k * alpha * xiStride, d = tail + k * vw
                            for l in 0..<vw { d[l] = l < lanes ? s[l] : 0 }
                        }
                        T.output(tail, vw, st + x2 * tp + t, alpha * tp, WinogradVector.self)
                    }
                    t &+= vw
                }
            }
            for i in 0..<m {
                var t = 0
                while t < tc {
                    let row = st + i * alpha * tp + t
                    T.output(row, tp, row, tp, WinogradVector.self)
                    t &+= vw
                }
            }
            for (rl, r) in rows.enumerated() {
                let img = r / tilesH, th = r % tilesH, t0 = rl * tilesW
                for i in 0..<min(m, p.oh - th * m) {
                    let dst = yc + (img * p.oh + th * m + i) * p.ow    // y[c][img][oh][·]
                    let s = st + i * alpha * tp + t0                     // st[i][j][t0 + tw] = s[j*tp + tw]
                    // Tiles 0..<fullTiles lie wholly inside OW; the last may stick out. Wrapping
                    // arithmetic: bounded indices in a hot loop.
                    var tw = 0
                    if accumulate {
                        while tw < fullTiles {
                            for j in 0..<m { dst[tw &* m &+ j] += s[j &* tp &+ tw] + b }
                            tw &+= 1
                        }
                        while tw < tilesW {
                            for j in 0..<m where tw &* m &+ j < p.ow { dst[tw &* m &+ j] += s[j &* tp &+ tw] + b }
                            tw &+= 1
                        }
                    } else {
                        while tw < fullTiles {
                            for j in 0..<m { dst[tw &* m &+ j] = s[j &* tp &+ tw] + b }
                            tw &+= 1
                        }
                        while tw < tilesW {
                            for j in 0..<m where tw &* m &+ j < p.ow { dst[tw &* m &+ j] = s[j &* tp &+ tw] + b }
                            tw &+= 1
                        }
                    }
                    if relu {
                        for q in 0..<p.ow { dst[q] = max(dst[q], 0) }
                    }
                }
            }
        }
    }
}

/// dYhat[ξ][c][t] = (A dY Aᵀ)[ξ] for the m x m output-gradient tiles of `rows` (zero past the
/// edge of `[OH][OW]`). Per channel: stage `st[i][j][t]` (i, j < m), transform along rows in
/// place (`st[i][ξ2][t]`, rows alpha apart), then down into dYhat.
private func transformGradient<T: WinogradTransform>(_ p: WinogradPlan, _: T.Type, dy: UnsafePointer<Float>,
                                                     rows: Range<Int>, mm: UnsafeMutablePointer<Float>,
                                                     slots: UnsafeMutablePointer<Float>, parallel: Bool = true) {
    let (alpha, m, tilesW, tilesH, tp) = (T.alpha, T.m, p.tilesW, p.tilesH, p.tilesPad)   // alpha, m: constants
    let vw = winogradVectorWidth
    let tc = rows.count * tilesW, xiStride = p.outC * tc
    parallelSlots(p.outC, workPerItem: tc * alpha * alpha, slots: slots, slotCount: p.slotCount,
                  parallel: parallel) { slot, channels in
        let st = slot                                           // [m][alpha][tilesPad]
        let tail = st + m * alpha * tp                          // [alpha][8]
        for k in 0..<m * alpha { (st + k * tp + tc).update(repeating: 0, count: tp - tc) }
        let fullTiles = p.ow / m                                // tiles wholly inside OW
        for c in channels {
            let dyc = dy + c * p.n * p.oh * p.ow
            for (rl, r) in rows.enumerated() {
                let img = r / tilesH, th = r % tilesH, t0 = rl * tilesW
                for i in 0..<m {
                    let oh = th * m + i, d = st + i * alpha * tp + t0    // st[i][j][t0 + tw] = d[j*tp + tw]
                    if oh >= p.oh {
                        for j in 0..<m { (d + j * tp).update(repeating: 0, count: tilesW) }
                        continue
                    }
                    let src = dyc + (img * p.oh + oh) * p.ow             // dy[c][img][oh][·]
                    var tw = 0
                    while tw < fullTiles {
                        for j in 0..<m { d[j &* tp &+ tw] = src[tw &* m &+ j] }
                        tw &+= 1
                    }
                    while tw < tilesW {
                        for j in 0..<m { d[j &* tp &+ tw] = tw &* m &+ j < p.ow ? src[tw &* m &+ j] : 0 }
                        tw &+= 1
                    }
                }
            }
            for i in 0..<m {
                var t = 0
                while t < tc {
                    let row = st + i * alpha * tp + t
                    T.outputAdjoint(row, tp, row, tp, WinogradVector.self)
                    t &+= vw
                }
            }
            for x2 in 0..<alpha {
                transformLanes(tc, outputs: alpha, dst: mm + x2 * xiStride + c * tc, ds: alpha * xiStride, tail: tail) {
                    t, d, ds in T.outputAdjoint(st + x2 * tp + t, alpha * tp, d, ds, WinogradVector.self)
                }
            }
        }
    }
}

/// dW[o][i] = Gᵀ S[·][o][i] G (3x3) for one group; `s` is `[alpha², outC, inC]`, dW
/// `[outC][inC][3][3]`. SIMD lanes are 8 consecutive input channels, as in transformFilter.
private func inverseFilter<T: WinogradTransform>(_ p: WinogradPlan, _: T.Type, s: UnsafePointer<Float>,
                                                 dWeight: UnsafeMutablePointer<Float>,
                                                 slots: UnsafeMutablePointer<Float>, parallel: Bool) {
    let alpha = T.alpha, vw = winogradVectorWidth, stride = p.outC * p.inC
    parallelSlots(p.outC, workPerItem: p.inC * alpha * alpha * 4, slots: slots, slotCount: p.slotCount,
                  parallel: parallel) { slot, outs in
        let sv = slot                                           // [alpha][alpha][8]: S, lane = input channel
        let rowsT = sv + alpha * alpha * vw                     // [alpha][3][8]: each row of S times G
        let g = rowsT + 3 * alpha * vw                          // [9][8]: the 8 filter gradients, tap-major
        for o in outs {
            var i = 0
            while i < p.inC {
                let lanes = min(vw, p.inC - i)
                let src = s + o * p.inC + i
                for k in 0..<alpha * alpha {
                    (sv + k * vw).update(from: src + k * stride, count: lanes)
                    (sv + k * vw + lanes).update(repeating: 0, count: vw - lanes)
                }
                for r in 0..<alpha {
                    T.filterAdjoint(sv + r * alpha * vw, vw, rowsT + r * 3 * vw, vw, WinogradVector.self)
                }
                for c in 0..<3 { T.filterAdjoint(rowsT + c * vw, 3 * vw, g + c * vw, 3 * vw, WinogradVector.self) }
                for l in 0..<lanes {
                    let dst = dWeight + (o * p.inC + i + l) * 9
                    for k in 0..<9 { dst[k] = g[k * vw + l] }
                }
                i += vw
            }
        }
    }
}
