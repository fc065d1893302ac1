import CKernels

// Direct convolution for few input channels per group (ResNet's stem: 1 -> 64, 7x7 stride 2):
// im2col copies each input pixel KH*KW/stride² times (12x for the stem) into a matrix whose GEMM
// then sums only Cin*KH*KW products per output, too few to repay its packing. `netc_conv_direct`
// (C, AVX-512 or AVX2 chosen at run time) splits each input row into stride phases once, then
// keeps 4 output channels x 2 output rows x 48 columns in registers across every tap. On the
// stem, one core: 93-98 GFLOP/s forward, 90-92 for the weight gradient; at batch 128 on both
// cores of a loaded machine, 20-26 ms forward against im2col's 34-42, 24-26 ms for the weight
// gradient against 33-59.

extension ConvGeometry {
    /// Whether the direct kernels beat im2col and a GEMM on this shape: at most 4 input channels
    /// a group, output rows of 16 or more (a row fills whole vectors), and at least 8 output
    /// channels a group (two tiles). On the stem's shape they beat im2col 1.3-1.8x from 1 to 16
    /// input channels (`directConvTiming`); the bound stays at 4, short of the 8 and 16 channels
    /// a group of ResNeXt's grouped 3x3s, which were not measured here.
    public var directConvFits: Bool {
        groupInChannels <= 4 && outW >= 16 && groupOutChannels >= 8 && !isPointwise
    }

    /// One group as the C kernels take it.
    var directShape: netc_conv_shape {
        netc_conv_shape(in_channels: groupInChannels, height: height, width: width, in_channel_stride: n * height * width,
                        out_channels: groupOutChannels, out_height: outH, out_width: outW, out_channel_stride: n * outH * outW,
                        kernel_h: kernelH, kernel_w: kernelW, stride_h: strideH, stride_w: strideW, pad_h: padH, pad_w: padW)
    }

    /// Output rows per task of the direct forward: a whole image when the batch gives every core
    /// several, fewer when it does not (a batch of one), and never so many that the task's split
    /// input rows outgrow L2 (a large map).
    public var directBandRows: Int {
        let images = n * groups, wanted = 4 * kernelThreadCount
        var rows = images >= wanted ? outH : max(1, outH * images / wanted)
        var shape = directShape
        while rows > 1 && netc_conv_direct_scratch_bytes(&shape, rows) > directScratchLimit { rows = (rows + 1) / 2 }
        return rows
    }
}

/// Bytes of split input rows a direct forward task keeps (half of a core's L2 here).
private let directScratchLimit = 1 << 19

/// `y = conv(x, weight) + bias` by direct loops, with `convForward`'s epilogue (onto `y`'s residual
/// when `accumulate`, then ReLU); x `[Cin][N][H][W]`, weight `[Cout][Cin/g][KH][KW]`, y
/// `[Cout][N][OH][OW]`. Tasks of whole images (or bands of output rows) run across the cores;
/// every output sums its taps in one order, whatever the split. `instructionSet`: the copy to run.
public func directConvForward(_ g: ConvGeometry, x: UnsafeBufferPointer<Float>, weight: UnsafeBufferPointer<Float>,
                              bias: UnsafeBufferPointer<Float>?, y: UnsafeMutableBufferPointer<Float>,
                              epilogue: ConvEpilogue = .none, instructionSet: InstructionSet = .widest) {
    precondition(x.count >= g.inputCount && y.count >= g.outputCount && weight.count >= g.weightCount
                 && (bias?.count ?? g.outChannels) >= g.outChannels, "direct conv: buffer too small")
    var shape = g.directShape
    let bandRows = g.directBandRows, bands = (g.outH + bandRows - 1) / bandRows
    let inPlane = g.height * g.width, outPlane = g.outH * g.outW, cinG = g.groupInChannels, coutG = g.groupOutChannels
    let xp = x.baseAddress!, wp = weight.baseAddress!, yp = y.baseAddress!, bp = bias?.baseAddress
    let level = instructionSet.rawValue, accumulate: Int32 = epilogue.accumulate ? 1 : 0, relu: Int32 = epilogue.relu ? 1 : 0
    parallelFor(g.groups * g.n * bands, workPerItem: bandRows * g.outW * coutG * g.patchSize) { tasks in
        let scratch = UnsafeMutableRawPointer.allocate(byteCount: netc_conv_direct_scratch_bytes(&shape, bandRows), alignment: 64)
        defer { scratch.deallocate() }
        for task in tasks {
            let (grp, rest) = task.quotientAndRemainder(dividingBy: g.n * bands), (image, band) = rest.quotientAndRemainder(dividingBy: bands)
            netc_conv_direct(level, &shape, xp + grp * cinG * g.n * inPlane + image * inPlane, wp + grp * coutG * g.patchSize,
                             bp.map { $0 + grp * coutG }, yp + grp * coutG * g.n * outPlane + image * outPlane, accumulate, relu,
                             band * bandRows, min(g.outH, (band + 1) * bandRows), scratch)
        }
    }
}

/// `dWeight = ∂L/∂w` and `dBias = ∂L/∂b` (overwritten) by direct loops, x `[Cin][N][H][W]`, dy
/// `[Cout][N][OH][OW]`. Tasks of 4 output channels run across the cores, each over the whole
/// batch: every weight sums its products in one order (16 lane sums over the images, in order,
/// then the lanes), whatever the split. `instructionSet`: the copy to run.
public func directConvBackwardFilter(_ g: ConvGeometry, x: UnsafeBufferPointer<Float>, dy: UnsafeBufferPointer<Float>,
                                     dWeight: UnsafeMutableBufferPointer<Float>, dBias: UnsafeMutableBufferPointer<Float>?,
                                     instructionSet: InstructionSet = .widest) {
    precondition(x.count >= g.inputCount && dy.count >= g.outputCount && dWeight.count >= g.weightCount
                 && (dBias?.count ?? g.outChannels) >= g.outChannels, "direct conv: buffer too small")
    var shape = g.directShape
    let inPlane = g.height * g.width, outPlane = g.outH * g.outW, cinG = g.groupInChannels, coutG = g.groupOutChannels
    let patch = g.patchSize, blocksPerGroup = (coutG + 3) / 4
    let partial = UnsafeMutablePointer<Float>.allocate(capacity: g.outChannels * patch * 16)
    defer { partial.deallocate() }
    partial.initialize(repeating: 0, count: g.outChannels * patch * 16)
    let xp = x.baseAddress!, dyp = dy.baseAddress!, level = instructionSet.rawValue
    parallelFor(g.groups * blocksPerGroup, workPerItem: 4 * g.n * outPlane * patch) { tasks in
        let scratch = UnsafeMutableRawPointer.allocate(byteCount: netc_conv_direct_scratch_bytes(&shape, g.outH), alignment: 64)
        defer { scratch.deallocate() }
        // The tasks' channels, a group at a time.
        var task = tasks.lowerBound
        while task < tasks.upperBound {
            let grp = task / blocksPerGroup, last = min(tasks.upperBound, (grp + 1) * blocksPerGroup)
            let channels = (task - grp * blocksPerGroup) * 4 ..< min(coutG, (last - grp * blocksPerGroup) * 4)
            for image in 0..<g.n {
                netc_conv_direct_filter(level, &shape, xp + grp * cinG * g.n * inPlane + image * inPlane,
                                        dyp + grp * coutG * g.n * outPlane + image * outPlane, partial + grp * coutG * patch * 16,
                                        channels.lowerBound, channels.upperBound, scratch)
            }
            task = last
        }
    }
    let dw = dWeight.baseAddress!
    for i in 0..<g.outChannels * patch {
        var sum = 0.0
        for lane in 0..<16 { sum += Double(partial[i * 16 + lane]) }
        dw[i] = Float(sum)
    }
    if let dBias { channelSums(dyp, channels: g.outChannels, plane: g.n * outPlane, into: dBias.baseAddress!) }
}
