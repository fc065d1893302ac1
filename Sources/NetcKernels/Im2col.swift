// Unfolding (im2col) and folding (col2im) of a chunk of images, the data movement behind the
// GEMM-based convolution kernels.

/// Valid output columns `lo..<hi` for kernel offset `kOff`: those whose input coordinate
/// `o*stride - pad + kOff` lies in `0..<size`. Outside that range the patch reads padding.
@inline(__always)
func validRange(out: Int, size: Int, stride: Int, pad: Int, kOff: Int) -> (Int, Int) {
    // o*stride >= pad - kOff  and  o*stride <= size - 1 + pad - kOff
    let a = pad - kOff
    let lo = a <= 0 ? 0 : (a + stride - 1) / stride
    let b = size - 1 + pad - kOff
    let hi = b < 0 ? 0 : min(out, b / stride + 1)
    return (min(lo, hi), hi)
}

/// For a "same" convolution (stride 1, output as wide as the input), the output rows
/// `ohLo..<ohHi` of tap (ki, kj) read consecutive input rows: one span `a..<b` of an image's
/// `[OH][OW]` and the input at `t + shift`, trimmed so it never reads outside the image (what it
/// trims are padding columns). Nil for other convolutions.
@inline(__always)
func sameSizeSpan(_ g: ConvGeometry, ki: Int, kj: Int, ohLo: Int, ohHi: Int) -> (Int, Int, Int)? {
    guard g.strideH == 1, g.strideW == 1, g.outW == g.width, ohLo < ohHi else { return nil }
    let w = g.width, shift = (ki - g.padH) * w + (kj - g.padW)
    let a = max(ohLo * w, -shift), b = min(ohHi * w, g.height * w - shift)
    return a < b ? (a, b, shift) : nil
}

/// Unfolds images `images` of one group's input `x = [Cin/g][N][H][W]` into
/// `col[Cin/g*T, b*OH*OW]` (b = images.count, T the live taps, `ConvGeometry.liveTaps`): row
/// `c*T + t` holds, for every output pixel of the chunk, the input it multiplies by
/// `weight[·, c, kh, kw]` for the t-th live tap (kh, kw) (zero where the window hangs over the
/// padding). With no dead taps, row `(c*KH + kh)*KW + kw`. Parallel over rows (unless `parallel`
/// is false); each row has one writer.
func im2col(_ g: ConvGeometry, x: UnsafePointer<Float>, images: Range<Int>, col: UnsafeMutablePointer<Float>,
            parallel: Bool = true) {
    if g.outH * g.outW <= smallMapPixels {
        im2colSmallMap(g, x: x, images: images, col: col, parallel: parallel)
    } else {
        im2colSpans(g, x: x, images: images, col: col, parallel: parallel)
    }
}

/// `im2col` span by span: per output row, one copy of its valid inputs and fills of zeros.
private func im2colSpans(_ g: ConvGeometry, x: UnsafePointer<Float>, images: Range<Int>, col: UnsafeMutablePointer<Float>,
                         parallel: Bool) {
    let (h, w, oh, ow, n) = (g.height, g.width, g.outH, g.outW, g.n)
    let (kw, sh, sw, ph, pw) = (g.kernelW, g.strideH, g.strideW, g.padH, g.padW)
    let rowLength = images.count * oh * ow
    let taps = g.liveTapCount, mask = g.liveTaps
    parallelFor(g.unfoldedRows, workPerItem: rowLength, parallel: parallel) { range in
        for r in range {
            let c = r / taps, tap = g.liveTap(r % taps, in: mask), ki = tap / kw, kj = tap % kw
            let (owLo, owHi) = validRange(out: ow, size: w, stride: sw, pad: pw, kOff: kj)
            let (ohLo, ohHi) = validRange(out: oh, size: h, stride: sh, pad: ph, kOff: ki)
            let xc = x + c * n * h * w                                 // [N][H][W] of channel c
            var dst = col + r * rowLength                              // row r: [b][OH][OW]
            // Wrapping arithmetic (&*, &+) in the loops below: the indices are bounded by the plan's
            // buffer sizes, which were counted with overflow checks before allocation, and the
            // overflow checks of plain arithmetic cost this kernel about a third of its time.
            for img in images {
                let xi = xc + img &* h &* w
                if let (a, b, shift) = sameSizeSpan(g, ki: ki, kj: kj, ohLo: ohLo, ohHi: ohHi) {
                    // One copy for the whole span of valid output rows, then zeros where the
                    // window hangs over the padding (columns that copy filled from the next row).
                    dst.update(repeating: 0, count: a)
                    (dst + a).update(from: xi + (a &+ shift), count: b &- a)
                    (dst + b).update(repeating: 0, count: oh &* ow &- b)
                    for o in ohLo..<ohHi {
                        (dst + o &* ow).update(repeating: 0, count: owLo)
                        (dst + (o &* ow &+ owHi)).update(repeating: 0, count: ow &- owHi)
                    }
                    dst += oh &* ow
                    continue
                }
                dst.update(repeating: 0, count: ohLo &* ow)
                dst += ohLo &* ow
                for o in ohLo..<ohHi {
                    let src = xi + ((o &* sh &- ph &+ ki) &* w &- pw &+ kj)   // input for ow = 0
                    dst.update(repeating: 0, count: owLo)
                    if sw == 1 {
                        (dst + owLo).update(from: src + owLo, count: owHi &- owLo)
                    } else {
                        var q = owLo
                        if sw == 2 {
                            // Stride 2 (ResNet's stems), eight at a time: the even lanes of 16
                            // loaded, all of them inside the row's valid span (2q + 15 <= 2(owHi - 1)).
                            while q &+ 9 <= owHi {
                                let v = UnsafeRawPointer(src + 2 &* q).loadUnaligned(as: SIMD16<Float>.self)
                                UnsafeMutableRawPointer(dst + q).storeBytes(of: v.evenHalf, as: SIMD8<Float>.self)
                                q &+= 8
                            }
                        }
                        while q < owHi { dst[q] = src[q &* sw]; q &+= 1 }
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

/// Output maps of at most this many pixels unfold through a gather table (`im2colSmallMap`).
/// Measured on one core against the spans (ResNet-18's training chunks): 3x3 maps 1.2 ms against
/// 4.3, 6x6 0.9 against 1.5, but 12x12 0.89 against 0.74.
let smallMapPixels = 100

/// `im2col` for small output maps, where a row is a few dozen values and the span bookkeeping and
/// the short copies and fills of the general loop cost more than the values (ResNet-18's 3x3s on
/// 3x3 maps at batch 1: 4,608 rows of 9). One table, shared by every channel, holds for each live
/// tap and output pixel the input offset it reads in a channel's image, or -1 in the padding.
private func im2colSmallMap(_ g: ConvGeometry, x: UnsafePointer<Float>, images: Range<Int>,
                            col: UnsafeMutablePointer<Float>, parallel: Bool) {
    let (h, w, oh, ow, n) = (g.height, g.width, g.outH, g.outW, g.n)
    let pixels = oh * ow, taps = g.liveTapCount, rowLength = images.count * pixels
    withSmallMapOffsets(g) { offsets in
        parallelFor(g.unfoldedRows, workPerItem: rowLength, parallel: parallel) { range in
            for r in range {
                let c = r / taps, offset = offsets + (r % taps) * pixels
                var dst = col + r * rowLength
                // Wrapping arithmetic, as in im2col.
                for img in images {
                    let xi = x + (c &* n &+ img) &* h &* w
                    for p in 0..<pixels {
                        let o = Int(offset[p])
                        dst[p] = o < 0 ? 0 : xi[o]
                    }
                    dst += pixels
                }
            }
        }
    }
}

/// Calls `body` with the small-map gather table of `g`: for each live tap t and output pixel p,
/// at `t * OH*OW + p`, the offset in a channel's image of the input that the tap reads there, or
/// -1 in the padding.
private func withSmallMapOffsets<R>(_ g: ConvGeometry, _ body: (UnsafePointer<Int32>) -> R) -> R {
    let (h, w, oh, ow) = (g.height, g.width, g.outH, g.outW)
    let pixels = oh * ow, taps = g.liveTapCount, mask = g.liveTaps
    return withUnsafeTemporaryAllocation(of: Int32.self, capacity: taps * pixels) { table in
        for t in 0..<taps {
            let tap = g.liveTap(t, in: mask), ki = tap / g.kernelW, kj = tap % g.kernelW
            for i in 0..<oh {
                for j in 0..<ow {
                    let a = i * g.strideH - g.padH + ki, b = j * g.strideW - g.padW + kj
                    table[t * pixels + i * ow + j] = (0..<h).contains(a) && (0..<w).contains(b) ? Int32(a * w + b) : -1
                }
            }
        }
        return body(UnsafePointer(table.baseAddress!))
    }
}

/// Folds `col[Cin/g*T, b*OH*OW]` (rows as `im2col` lays them out) back onto images `images` of one group's input gradient
/// `dx = [Cin/g][N][H][W]`, ADDING every patch entry to the input pixel it came from (padding
/// entries are dropped, and zeroed in `col`, which is scratch); with `overwrite` those images are
/// zeroed first. Parallel over input
/// channels: all KH*KW rows of channel c write only channel c, so threads never race.
func col2im(_ g: ConvGeometry, col: UnsafeMutablePointer<Float>, images: Range<Int>, dx: UnsafeMutablePointer<Float>,
            overwrite: Bool, parallel: Bool = true) {
    let (h, w, oh, ow, n) = (g.height, g.width, g.outH, g.outW, g.n)
    let (kw, sh, sw, ph, pw) = (g.kernelW, g.strideH, g.strideW, g.padH, g.padW)
    let rowLength = images.count * oh * ow
    let taps = g.liveTapCount, mask = g.liveTaps
    if oh * ow <= smallMapPixels {
        col2imSmallMap(g, col: col, images: images, dx: dx, overwrite: overwrite, parallel: parallel)
        return
    }
    parallelFor(g.groupInChannels, workPerItem: taps * rowLength, parallel: parallel) { range in
        for c in range {
            let dxc = dx + c * n * h * w
            if overwrite { (dxc + images.lowerBound * h * w).update(repeating: 0, count: images.count * h * w) }
            for t in 0..<taps {
                let tap = g.liveTap(t, in: mask), ki = tap / kw, kj = tap % kw
                let (ohLo, ohHi) = validRange(out: oh, size: h, stride: sh, pad: ph, kOff: ki)
                let (owLo, owHi) = validRange(out: ow, size: w, stride: sw, pad: pw, kOff: kj)
                let row = col + (c * taps + t) * rowLength
                // Wrapping arithmetic, as in im2col: bounded indices, and checks that cost time.
                for (j, img) in images.enumerated() {
                    let dxi = dxc + img &* h &* w, src = row + j &* oh &* ow
                    if let (a, b, shift) = sameSizeSpan(g, ki: ki, kj: kj, ohLo: ohLo, ohHi: ohHi) {
                        // Zero the padding columns (this scratch is ours), then one add over the
                        // span: the zeros land harmlessly on the neighbouring row's pixels.
                        for o in ohLo..<ohHi {
                            (src + o &* ow).update(repeating: 0, count: owLo)
                            (src + (o &* ow &+ owHi)).update(repeating: 0, count: ow &- owHi)
                        }
                        let d = dxi + shift
                        var t = a
                        while t < b { d[t] += src[t]; t &+= 1 }
                        continue
                    }
                    for o in ohLo..<ohHi {
                        let dst = dxi + ((o &* sh &- ph &+ ki) &* w &- pw &+ kj)   // input for ow = 0
                        let s = src + o &* ow
                        var q = owLo
                        if sw == 1 {
                            while q < owHi { dst[q] += s[q]; q &+= 1 }
                        } else {
                            while q < owHi { dst[q &* sw] += s[q]; q &+= 1 }
                        }
                    }
                }
            }
        }
    }
}

/// `col2im` for small output maps, through `im2colSmallMap`'s gather table: each input pixel
/// receives its taps' values in the same order as in the general loop (tap by tap), so the sums
/// are the same bits.
private func col2imSmallMap(_ g: ConvGeometry, col: UnsafeMutablePointer<Float>, images: Range<Int>,
                            dx: UnsafeMutablePointer<Float>, overwrite: Bool, parallel: Bool) {
    let (h, w, n) = (g.height, g.width, g.n)
    let pixels = g.outH * g.outW, taps = g.liveTapCount, rowLength = images.count * pixels
    withSmallMapOffsets(g) { offsets in
        parallelFor(g.groupInChannels, workPerItem: taps * rowLength, parallel: parallel) { range in
            for c in range {
                let dxc = dx + c * n * h * w
                if overwrite { (dxc + images.lowerBound * h * w).update(repeating: 0, count: images.count * h * w) }
                for t in 0..<taps {
                    let offset = offsets + t * pixels, row = col + (c * taps + t) * rowLength
                    // Wrapping arithmetic, as in im2col.
                    for (j, img) in images.enumerated() {
                        let dxi = dxc + img &* h &* w, src = row + j &* pixels
                        for p in 0..<pixels {
                            let o = Int(offset[p])
                            if o >= 0 { dxi[o] += src[p] }
                        }
                    }
                }
            }
        }
    }
}
