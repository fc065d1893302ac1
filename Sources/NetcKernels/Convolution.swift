// 2-D convolution (cross-correlation, like PyTorch) on CNHW activations via im2col + GEMM,
// a chunk of images at a time.
//
// Per group g (Cin/g input channels -> Cout/g output channels) and chunk of b images:
//   forward:         Y_g[:, chunk]  = W_g[Cout/g, K] x col[K, b*OH*OW]
//   backward data:   col            = W_gᵀ x dY_g[:, chunk], then col2im (adding) into dX_g
//   backward filter: dW_g[Cout/g, K] += dY_g[:, chunk] x colᵀ     (GEMM beta = 1 after the first)
// with K = Cin/g*KH*KW. In CNHW every group's X_g, Y_g, dY_g is a contiguous row block
// `[C/g, N*H*W]`, a chunk of images is a column block of it, and W_g is a row block of
// W[Cout, K]; so each step is one plain GEMM, reading and writing the chunk's columns in
// place through the leading dimension (no copy before or after).
//
// Why chunks: unfolding the whole batch at once makes a huge im2col matrix (170 MB for
// ResNet-18's first stage at batch 128) that is written to DRAM and read back — measured at
// ~30% of conv time. A chunk's matrix (`ConvGeometry.imagesPerChunk`) stays in cache.
// Pointwise convs (1x1, stride 1, no padding) need no unfolding: X_g is the im2col matrix,
// so they run as one GEMM per group over the whole batch.

/// Forward convolution: `y = conv(x, weight) + bias`.
/// - Parameters:
///   - x: `[Cin][N][H][W]`.
///   - weight: `[Cout][Cin/g][KH][KW]`.
///   - bias: `[Cout]` or nil.
///   - y: `[Cout][N][OH][OW]`, overwritten.
///   - workspace: at least `geometry.workspaceCount` floats.
///   - epilogue: what follows the GEMM while each chunk is still in cache (a residual join
///     already in `y`, ReLU); none by default.
///   - packed: the same weights as `packConvWeights` packs them (one group only), to multiply
///     with `gemmPacked` instead of OpenBLAS: for few GEMM columns (a small batch on a small map).
public func convForward(_ g: ConvGeometry,
                        x: UnsafeBufferPointer<Float>, weight: UnsafeBufferPointer<Float>,
                        bias: UnsafeBufferPointer<Float>?, y: UnsafeMutableBufferPointer<Float>,
                        workspace: UnsafeMutableBufferPointer<Float>, epilogue: ConvEpilogue = .none,
                        packed: UnsafePointer<Float>? = nil) {
    checkConvBuffers(g, x.count, y.count, weight.count, workspace.count)
    precondition(bias.map { $0.count >= g.outChannels } ?? true, "conv: bias too small")
    precondition(packed == nil || g.groups == 1, "conv: packed weights are for one group")
    let ohw = g.outH * g.outW, cols = g.n * ohw, inPlane = g.n * g.height * g.width
    let cinG = g.groupInChannels, coutG = g.groupOutChannels, k = g.patchSize
    let xp = x.baseAddress!, wp = weight.baseAddress!, yp = y.baseAddress!
    let beta: Float = epilogue.accumulate ? 1 : 0
    let rows = g.unfoldedRows
    forEachGroup(g, workspace) { grp, scratch, parallel in
        let xg = xp + grp * cinG * inPlane, yg = yp + grp * coutG * cols
        let bg = bias.map { $0.baseAddress! + grp * coutG }
        /// Y_g's `columns` from `c` on (+)= W_g `[Cout/g, rows]` x `b` (`[rows, columns]`, row stride `ldb`),
        /// then bias and ReLU: on the packed weights when there are some and by the shallow GEMM when
        /// it fits, each finishing its results as it stores them; else by OpenBLAS and a pass after.
        func multiply(_ w: UnsafePointer<Float>, _ b: UnsafePointer<Float>, ldb: Int, columns: Range<Int>) {
            let c = yg + columns.lowerBound
            let shallow = g.isPointwise ? pointwiseShallowGemmFits(m: coutG, n: columns.count, k: rows)
                                        : shallowGemmFits(m: coutG, n: columns.count, k: rows)
            if let packed {
                gemmPacked(m: coutG, n: columns.count, k: rows, packed: packed, b: b, ldb: ldb, c: c, ldc: cols,
                           accumulate: epilogue.accumulate, bias: bg, relu: epilogue.relu, parallel: parallel)
            } else if shallow {
                gemmShallow(m: coutG, n: columns.count, k: rows, a: w, lda: rows, b: b, ldb: ldb, c: c, ldc: cols,
                            accumulate: epilogue.accumulate, bias: bg, relu: epilogue.relu, parallel: parallel)
            } else {
                gemm(m: coutG, n: columns.count, k: rows, a: w, lda: rows, b: b, ldb: ldb, beta: beta, c: c, ldc: cols, parallel: parallel)
                finishRows(yg, rows: coutG, stride: cols, columns: columns, bias: bg, relu: epilogue.relu, parallel: parallel)
            }
        }
        if g.isPointwise {
            multiply(wp + grp * coutG * k, xg, ldb: cols, columns: 0..<cols)
            return
        }
        let (col, compact) = convScratch(g, scratch)
        let wg = packed == nil ? liveTapWeights(g, wp + grp * coutG * k, compact) : wp      // [Cout/g, rows]
        forEachChunk(g) { images in
            let width = images.count * ohw
            im2col(g, x: xg, images: images, col: col, parallel: parallel)
            multiply(wg, col, ldb: width, columns: images.lowerBound * ohw ..< images.upperBound * ohw)
        }
    }
}

/// Gradient with respect to the input: `dx (+)= convᵀ(dy, weight)`.
/// - Parameters:
///   - dy: `[Cout][N][OH][OW]`; weight: `[Cout][Cin/g][KH][KW]`.
///   - dx: `[Cin][N][H][W]`; overwritten, or added to when `accumulate`.
///   - workspace: at least `geometry.workspaceCount` floats.
public func convBackwardData(_ g: ConvGeometry,
                             dy: UnsafeBufferPointer<Float>, weight: UnsafeBufferPointer<Float>,
                             dx: UnsafeMutableBufferPointer<Float>,
                             workspace: UnsafeMutableBufferPointer<Float>, accumulate: Bool) {
    checkConvBuffers(g, dx.count, dy.count, weight.count, workspace.count)
    let ohw = g.outH * g.outW, cols = g.n * ohw, inPlane = g.n * g.height * g.width
    let cinG = g.groupInChannels, coutG = g.groupOutChannels, k = g.patchSize
    let dyp = dy.baseAddress!, wp = weight.baseAddress!, dxp = dx.baseAddress!
    let rows = g.unfoldedRows
    forEachGroup(g, workspace) { grp, scratch, parallel in
        let dyg = dyp + grp * coutG * cols, dxg = dxp + grp * cinG * inPlane
        if g.isPointwise {
            // dX_g[Cin/g, N*H*W] = W_gᵀ x dY_g, straight into dx.
            gemm(transA: true, m: cinG, n: cols, k: coutG, a: wp + grp * coutG * k, lda: k, b: dyg, ldb: cols,
                 beta: accumulate ? 1 : 0, c: dxg, ldc: cols, parallel: parallel)
            return
        }
        let (col, compact) = convScratch(g, scratch)
        let wg = liveTapWeights(g, wp + grp * coutG * k, compact)      // [Cout/g, rows]
        forEachChunk(g) { images in
            let width = images.count * ohw
            gemm(transA: true, m: rows, n: width, k: coutG, a: wg, lda: rows,
                 b: dyg + images.lowerBound * ohw, ldb: cols, c: col, ldc: width, parallel: parallel)
            col2im(g, col: col, images: images, dx: dxg, overwrite: !accumulate, parallel: parallel)
        }
    }
}

/// Gradients with respect to the weights (overwritten) and optionally the bias (overwritten).
/// - Parameters:
///   - x: `[Cin][N][H][W]`; dy: `[Cout][N][OH][OW]`.
///   - dWeight: `[Cout][Cin/g][KH][KW]`; dBias: `[Cout]` or nil.
///   - workspace: at least `geometry.workspaceCount` floats (x is re-unfolded here).
public func convBackwardFilter(_ g: ConvGeometry,
                               x: UnsafeBufferPointer<Float>, dy: UnsafeBufferPointer<Float>,
                               dWeight: UnsafeMutableBufferPointer<Float>,
                               dBias: UnsafeMutableBufferPointer<Float>?,
                               workspace: UnsafeMutableBufferPointer<Float>) {
    checkConvBuffers(g, x.count, dy.count, dWeight.count, workspace.count)
    let ohw = g.outH * g.outW, cols = g.n * ohw, inPlane = g.n * g.height * g.width
    let cinG = g.groupInChannels, coutG = g.groupOutChannels, k = g.patchSize
    let xp = x.baseAddress!, dyp = dy.baseAddress!, dwp = dWeight.baseAddress!
    let rows = g.unfoldedRows
    forEachGroup(g, workspace) { grp, scratch, parallel in
        let xg = xp + grp * cinG * inPlane, dyg = dyp + grp * coutG * cols, dwg = dwp + grp * coutG * k
        if g.isPointwise {
            // dW_g[Cout/g, K] = dY_g[Cout/g, N*H*W] x X_gᵀ[N*H*W, K]
            gemm(transB: true, m: coutG, n: k, k: cols, a: dyg, lda: cols, b: xg, ldb: cols, c: dwg, ldc: k,
                 parallel: parallel)
            return
        }
        // With dead taps the GEMMs sum the live taps' gradient in scratch; the dead ones get 0.
        let (col, compact) = convScratch(g, scratch)
        let target = g.hasDeadTaps ? compact : dwg                        // [Cout/g, rows]
        forEachChunk(g) { images in
            let width = images.count * ohw
            im2col(g, x: xg, images: images, col: col, parallel: parallel)
            gemm(transB: true, m: coutG, n: rows, k: width, a: dyg + images.lowerBound * ohw, lda: cols,
                 b: col, ldb: width, beta: images.lowerBound == 0 ? 0 : 1, c: target, ldc: rows, parallel: parallel)
        }
        if g.hasDeadTaps { scatterLiveTaps(g, compact, into: dwg) }
    }
    if let dBias {
        precondition(dBias.count >= g.outChannels, "conv: dBias too small")
        channelSums(dyp, channels: g.outChannels, plane: cols, into: dBias.baseAddress!)
    }
}

/// What a forward convolution does to its output after each GEMM, while that chunk of `y` is
/// still in cache: the graph's residual join and ReLU, fused instead of each taking its own
/// pass over memory.
public struct ConvEpilogue: Equatable, Sendable {
    /// `y` already holds the tensor to add (the residual join): the GEMMs accumulate onto it
    /// (beta = 1) instead of overwriting it.
    public var accumulate: Bool
    /// `max(0, ·)` after the bias and the residual.
    public var relu: Bool
    public init(accumulate: Bool = false, relu: Bool = false) { self.accumulate = accumulate; self.relu = relu }
    public static let none = ConvEpilogue()
}

/// Adds the bias and applies ReLU over `columns` of `rows` rows of `[rows, stride]`.
@inline(__always)
private func finishRows(_ y: UnsafeMutablePointer<Float>, rows: Int, stride: Int, columns: Range<Int>,
                        bias: UnsafePointer<Float>?, relu: Bool, parallel: Bool) {
    if bias == nil && !relu { return }
    parallelFor(rows, workPerItem: columns.count, parallel: parallel) { range in
        for r in range {
            let row = y + r * stride, b = bias?[r] ?? 0
            if relu {
                for i in columns { row[i] = max(row[i] + b, 0) }
            } else {
                for i in columns { row[i] += b }
            }
        }
    }
}

/// A group's scratch in two parts: the chunk's im2col matrix, and after it the live-tap weights.
@inline(__always)
private func convScratch(_ g: ConvGeometry, _ scratch: UnsafeMutablePointer<Float>)
    -> (col: UnsafeMutablePointer<Float>, compact: UnsafeMutablePointer<Float>) {
    (scratch, scratch + g.unfoldedRows * g.imagesPerChunk * g.outH * g.outW)
}

/// Calls `body(group, scratch, parallel)` for every group: `g.groupsAtOnce` at a time, each on a
/// thread of its own with its own `groupScratchCount` floats of the workspace (`parallel` false:
/// its steps stay on that thread), or one after another with each step spread over the cores.
/// Groups write disjoint parts of every output.
@inline(__always)
private func forEachGroup(_ g: ConvGeometry, _ workspace: UnsafeMutableBufferPointer<Float>,
                          _ body: (_ group: Int, _ scratch: UnsafeMutablePointer<Float>, _ parallel: Bool) -> Void) {
    let workers = g.groupsAtOnce, base = workspace.baseAddress!
    guard workers > 1 else {
        for grp in 0..<g.groups { body(grp, base, true) }
        return
    }
    parallelFor(workers, workPerItem: parallelWorkThreshold) { range in
        for w in range {
            for grp in (w * g.groups / workers)..<((w + 1) * g.groups / workers) { body(grp, base + w * g.groupScratchCount, false) }
        }
    }
}

/// One group's weights `[Cout/g, Cin/g*KH*KW]` as the GEMMs read them: themselves, or with
/// dead taps only the live taps' columns, gathered into `compact` (`[Cout/g, Cin/g*T]`).
private func liveTapWeights(_ g: ConvGeometry, _ weight: UnsafePointer<Float>,
                            _ compact: UnsafeMutablePointer<Float>) -> UnsafePointer<Float> {
    guard g.hasDeadTaps else { return weight }
    let taps = g.liveTapCount, mask = g.liveTaps, kk = g.kernelH * g.kernelW
    for o in 0..<g.groupOutChannels {
        for c in 0..<g.groupInChannels {
            for t in 0..<taps { compact[(o * g.groupInChannels + c) * taps + t] = weight[(o * g.groupInChannels + c) * kk + g.liveTap(t, in: mask)] }
        }
    }
    return UnsafePointer(compact)
}

/// Floats of a one-group convolution's weights as `packConvWeights` packs them.
public func packedConvWeightCount(_ g: ConvGeometry) -> Int {
    PackedPanels.count(m: g.outChannels, k: g.unfoldedRows)
}

/// A one-group convolution's weights packed for `convForward(packed:)`: the GEMM's left matrix
/// `[Cout, Cin*T]` (the live taps only, when some are dead) in `PackedPanels`' form.
public func packConvWeights(_ g: ConvGeometry, weight: UnsafePointer<Float>, into packed: UnsafeMutablePointer<Float>) {
    precondition(g.groups == 1, "conv: packed weights are for one group")
    let compact = UnsafeMutablePointer<Float>.allocate(capacity: max(g.outChannels * g.unfoldedRows, 1))
    defer { compact.deallocate() }
    let rows = liveTapWeights(g, weight, compact)
    PackedPanels.pack(m: g.outChannels, k: g.unfoldedRows, a: rows, lda: g.unfoldedRows, into: packed)
}

/// The inverse for gradients: `compact` (`[Cout/g, Cin/g*T]`) into `dw` (`[Cout/g, Cin/g*KH*KW]`),
/// zero for the dead taps (they only ever multiplied padding).
private func scatterLiveTaps(_ g: ConvGeometry, _ compact: UnsafePointer<Float>, into dw: UnsafeMutablePointer<Float>) {
    let taps = g.liveTapCount, mask = g.liveTaps, kk = g.kernelH * g.kernelW
    dw.update(repeating: 0, count: g.groupOutChannels * g.patchSize)
    for o in 0..<g.groupOutChannels {
        for c in 0..<g.groupInChannels {
            for t in 0..<taps { dw[(o * g.groupInChannels + c) * kk + g.liveTap(t, in: mask)] = compact[(o * g.groupInChannels + c) * taps + t] }
        }
    }
}

/// Calls `body` with consecutive image ranges of at most `g.imagesPerChunk` covering `0..<n`
/// (the last one may be shorter).
@inline(__always)
private func forEachChunk(_ g: ConvGeometry, _ body: (Range<Int>) -> Void) {
    let step = g.imagesPerChunk
    var n0 = 0
    while n0 < g.n {
        let n1 = min(g.n, n0 + step)
        body(n0..<n1)
        n0 = n1
    }
}

@inline(__always)
private func checkConvBuffers(_ g: ConvGeometry, _ xCount: Int, _ yCount: Int, _ wCount: Int, _ wsCount: Int) {
    precondition(xCount >= g.inputCount, "conv: input buffer too small")
    precondition(yCount >= g.outputCount, "conv: output buffer too small")
    precondition(wCount >= g.weightCount, "conv: weight buffer too small")
    precondition(wsCount >= g.workspaceCount, "conv: workspace too small")
}
