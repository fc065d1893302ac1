import NetcKernels

// Convolution over chunks of images. NetcKernels' convolution unfolds the whole batch at once:
// for ResNet-18's first stage at batch 128 that im2col matrix is 170 MB, so unfolding writes it
// to DRAM and the GEMM reads it back — bandwidth-bound work measured at ~30% of conv time.
// Here each group's im2col covers only a few images (a few MB, cache-sized), and the GEMM
// writes straight into that chunk's columns of the CNHW output (`ldc` = the full N*OH*OW row),
// so no copy follows. Pointwise convs need no unfolding and go to NetcKernels directly.

/// Floats of unfolded patches per chunk: large enough for efficient GEMMs, small enough to
/// stay in the last-level cache.
let chunkTargetFloats = 1 << 20
/// At least this many GEMM columns per chunk (tiny late-stage maps would give skinny GEMMs).
let chunkMinColumns = 2048

/// Images per chunk for a conv of this geometry.
func chunkImages(_ g: ConvGeometry) -> Int {
    let ohw = g.outH * g.outW
    let byCache = chunkTargetFloats / max(1, g.patchSize * ohw)
    let byColumns = (chunkMinColumns + ohw - 1) / ohw
    return max(1, min(g.n, max(byCache, byColumns)))
}

/// Workspace floats the chunked kernels need (0 for pointwise convs).
func chunkedWorkspaceCount(_ g: ConvGeometry) -> Int {
    g.isPointwise ? 0 : g.patchSize * chunkImages(g) * g.outH * g.outW
}

/// Forward convolution in image chunks; same contract as `convForward`.
func chunkedConvForward(_ g: ConvGeometry, x: UnsafeBufferPointer<Float>, weight: UnsafeBufferPointer<Float>,
                        bias: UnsafeBufferPointer<Float>?, y: UnsafeMutableBufferPointer<Float>,
                        workspace: UnsafeMutableBufferPointer<Float>) {
    if g.isPointwise { return convForward(g, x: x, weight: weight, bias: bias, y: y, workspace: workspace) }
    precondition(workspace.count >= chunkedWorkspaceCount(g), "conv: workspace too small")
    let ohw = g.outH * g.outW, cols = g.n * ohw, inPlane = g.n * g.height * g.width
    let cinG = g.groupInChannels, coutG = g.groupOutChannels, k = g.patchSize, step = chunkImages(g)
    let xp = x.baseAddress!, wp = weight.baseAddress!, yp = y.baseAddress!, col = workspace.baseAddress!
    for grp in 0..<g.groups {
        var n0 = 0
        while n0 < g.n {
            let b = min(step, g.n - n0)
            im2colChunk(g, x: xp + grp * cinG * inPlane, images: n0..<(n0 + b), col: col)
            gemm(m: coutG, n: b * ohw, k: k, a: wp + grp * coutG * k, lda: k, b: col, ldb: b * ohw,
                 c: yp + grp * coutG * cols + n0 * ohw, ldc: cols)
            n0 += b
        }
    }
    if let bias {
        let bp = bias.baseAddress!
        parallelFor(g.outChannels, workPerItem: cols) { r in
            for c in r { let v = bp[c], row = yp + c * cols; for i in 0..<cols { row[i] += v } }
        }
    }
}

/// Input gradient in image chunks; same contract as `convBackwardData`.
func chunkedConvBackwardData(_ g: ConvGeometry, dy: UnsafeBufferPointer<Float>, weight: UnsafeBufferPointer<Float>,
                             dx: UnsafeMutableBufferPointer<Float>, workspace: UnsafeMutableBufferPointer<Float>,
                             accumulate: Bool) {
    if g.isPointwise {
        return convBackwardData(g, dy: dy, weight: weight, dx: dx, workspace: workspace, accumulate: accumulate)
    }
    precondition(workspace.count >= chunkedWorkspaceCount(g), "conv: workspace too small")
    let ohw = g.outH * g.outW, cols = g.n * ohw, inPlane = g.n * g.height * g.width
    let cinG = g.groupInChannels, coutG = g.groupOutChannels, k = g.patchSize, step = chunkImages(g)
    let dyp = dy.baseAddress!, wp = weight.baseAddress!, dxp = dx.baseAddress!, col = workspace.baseAddress!
    if !accumulate { fill(UnsafeMutableBufferPointer(start: dxp, count: g.inputCount), with: 0) }   // col2im adds
    for grp in 0..<g.groups {
        var n0 = 0
        while n0 < g.n {
            let b = min(step, g.n - n0)
            gemm(transA: true, m: k, n: b * ohw, k: coutG, a: wp + grp * coutG * k, lda: k,
                 b: dyp + grp * coutG * cols + n0 * ohw, ldb: cols, c: col, ldc: b * ohw)
            col2imChunk(g, col: col, images: n0..<(n0 + b), dx: dxp + grp * cinG * inPlane)
            n0 += b
        }
    }
}

/// Weight (and bias) gradients in image chunks, summed by the GEMM's beta; same contract as
/// `convBackwardFilter`.
func chunkedConvBackwardFilter(_ g: ConvGeometry, x: UnsafeBufferPointer<Float>, dy: UnsafeBufferPointer<Float>,
                               dWeight: UnsafeMutableBufferPointer<Float>, dBias: UnsafeMutableBufferPointer<Float>?,
                               workspace: UnsafeMutableBufferPointer<Float>) {
    if g.isPointwise {
        return convBackwardFilter(g, x: x, dy: dy, dWeight: dWeight, dBias: dBias, workspace: workspace)
    }
    precondition(workspace.count >= chunkedWorkspaceCount(g), "conv: workspace too small")
    let ohw = g.outH * g.outW, cols = g.n * ohw, inPlane = g.n * g.height * g.width
    let cinG = g.groupInChannels, coutG = g.groupOutChannels, k = g.patchSize, step = chunkImages(g)
    let xp = x.baseAddress!, dyp = dy.baseAddress!, dwp = dWeight.baseAddress!, col = workspace.baseAddress!
    for grp in 0..<g.groups {
        var n0 = 0
        while n0 < g.n {
            let b = min(step, g.n - n0)
            im2colChunk(g, x: xp + grp * cinG * inPlane, images: n0..<(n0 + b), col: col)
            gemm(transB: true, m: coutG, n: k, k: b * ohw, a: dyp + grp * coutG * cols + n0 * ohw, lda: cols,
                 b: col, ldb: b * ohw, beta: n0 == 0 ? 0 : 1, c: dwp + grp * coutG * k, ldc: k)
            n0 += b
        }
    }
    if let dBias {
        let db = dBias.baseAddress!
        parallelFor(g.outChannels, workPerItem: cols) { r in
            for c in r {
                // Double across 1024-blocks: rows are up to ~10^6 long.
                let row = dyp + c * cols
                var total = 0.0, i = 0
                while i < cols {
                    let end = min(cols, i + 1024)
                    var part: Float = 0
                    while i < end { part += row[i]; i += 1 }
                    total += Double(part)
                }
                db[c] = Float(total)
            }
        }
    }
}

/// Valid output range `lo..<hi` along one axis for kernel offset `kOff` (the rest reads padding).
@inline(__always)
private func validRange(out: Int, size: Int, stride: Int, pad: Int, kOff: Int) -> (Int, Int) {
    let a = pad - kOff
    let lo = a <= 0 ? 0 : (a + stride - 1) / stride
    let b = size - 1 + pad - kOff
    let hi = b < 0 ? 0 : min(out, b / stride + 1)
    return (min(lo, hi), hi)
}

/// Unfolds images `images` of one group's input `[Cin/g][N][H][W]` into
/// `col[Cin/g*KH*KW, b*OH*OW]` (b = images.count), row `(c*KH + kh)*KW + kw`.
func im2colChunk(_ g: ConvGeometry, x: UnsafePointer<Float>, images: Range<Int>, col: UnsafeMutablePointer<Float>) {
    let (h, w, oh, ow, n) = (g.height, g.width, g.outH, g.outW, g.n)
    let (kh, kw, sh, sw, ph, pw) = (g.kernelH, g.kernelW, g.strideH, g.strideW, g.padH, g.padW)
    let rowLength = images.count * oh * ow
    parallelFor(g.patchSize, workPerItem: rowLength) { range in
        for r in range {
            let c = r / (kh * kw), ki = (r / kw) % kh, kj = r % kw
            let (owLo, owHi) = validRange(out: ow, size: w, stride: sw, pad: pw, kOff: kj)
            let (ohLo, ohHi) = validRange(out: oh, size: h, stride: sh, pad: ph, kOff: ki)
            let xc = x + c * n * h * w
            var dst = col + r * rowLength
            for img in images {
                let xi = xc + img * h * w
                dst.update(repeating: 0, count: ohLo * ow)
                dst += ohLo * ow
                for o in ohLo..<ohHi {
                    let src = xi + (o * sh - ph + ki) * w - pw + kj
                    dst.update(repeating: 0, count: owLo)
                    if sw == 1 {
                        (dst + owLo).update(from: src + owLo, count: owHi - owLo)
                    } else {
                        for q in owLo..<owHi { dst[q] = src[q * sw] }
                    }
                    (dst + owHi).update(repeating: 0, count: ow - owHi)
                    dst += ow
                }
                dst.update(repeating: 0, count: (oh - ohHi) * ow)
                dst += (oh - ohHi) * ow
            }
        }
    }
}

/// Adds `col[Cin/g*KH*KW, b*OH*OW]` back onto images `images` of one group's input gradient.
/// Parallel over input channels: every row of channel c writes only channel c.
func col2imChunk(_ g: ConvGeometry, col: UnsafePointer<Float>, images: Range<Int>, dx: UnsafeMutablePointer<Float>) {
    let (h, w, oh, ow, n) = (g.height, g.width, g.outH, g.outW, g.n)
    let (kh, kw, sh, sw, ph, pw) = (g.kernelH, g.kernelW, g.strideH, g.strideW, g.padH, g.padW)
    let rowLength = images.count * oh * ow
    parallelFor(g.groupInChannels, workPerItem: kh * kw * rowLength) { range in
        for c in range {
            let dxc = dx + c * n * h * w
            for ki in 0..<kh {
                let (ohLo, ohHi) = validRange(out: oh, size: h, stride: sh, pad: ph, kOff: ki)
                for kj in 0..<kw {
                    let (owLo, owHi) = validRange(out: ow, size: w, stride: sw, pad: pw, kOff: kj)
                    let row = col + ((c * kh + ki) * kw + kj) * rowLength
                    for (j, img) in images.enumerated() {
                        let dxi = dxc + img * h * w, src = row + j * oh * ow
                        for o in ohLo..<ohHi {
                            let dst = dxi + (o * sh - ph + ki) * w - pw + kj
                            let s = src + o * ow
                            if sw == 1 {
                                for q in owLo..<owHi { dst[q] += s[q] }
                            } else {
                                for q in owLo..<owHi { dst[q * sw] += s[q] }
                            }
                        }
                    }
                }
            }
        }
    }
}
