/// How a convolution is computed. One function (`choose`) picks it from the shape, so a
/// profile can print it, a test can force each one, and a fixed seed repeats a run bit for bit.
public enum ConvAlgorithm: String, Hashable, Sendable, CaseIterable {
    /// Groups == channels (MobileNet's 3x3s): direct loops over each channel's planes, where
    /// grouped GEMMs would multiply one row per channel.
    case depthwise = "depthwise direct"
    /// Few input channels a group (ResNet's stem: 1): direct loops over split input rows, where
    /// im2col would copy each pixel KH*KW/stride² times for GEMMs with sums too short to repay
    /// packing. Its weight gradient is direct too; its input gradient is im2col's.
    case direct = "direct"
    /// 1x1, stride 1, no padding: the input is already the GEMM's right-hand matrix.
    case pointwise = "gemm 1x1"
    /// Unfold patches a chunk of images at a time (im2col), then one GEMM per chunk and group.
    case im2col = "im2col gemm"
    /// im2col over only the kernel taps that read a pixel: on maps smaller than the kernel's
    /// reach (3x3 on 1x1) the others only multiply padding.
    case liveTaps = "im2col gemm, live taps"
    /// The whole map as one matrix product per batch, each output pixel multiplying only the input
    /// pixels in its window: on maps with fewer pixels than taps (3x3 on 2x2: 16 multiplies per
    /// channel pair against im2col's 36).
    case wholeMap = "gemm over whole maps"
    /// Winograd F(2x2, 3x3) for 3x3 stride-1 convolutions: 2.25x fewer multiplies than direct,
    /// with float32 error close to direct's (`WinogradTests`: at most 5 ulps of the output scale).
    case winograd = "winograd F(2x2,3x3)"
    /// Winograd F(4x4, 3x3): 4x fewer multiplies, up to ~100 ulps of error per layer on
    /// ResNet-like data; through a whole ResNet-18, preact or ResNeXt the logits stay within
    /// 8e-7 of im2col's (measured), far inside the 1e-5 netc holds them to against PyTorch.
    case winograd4x4 = "winograd F(4x4,3x3)"
    /// Groups of few channels (ResNeXt's 16 in, 16 out): direct sums over each image's padded
    /// planes, a tile of outputs in registers (`groupedDirectConvForward`), where a group's GEMM
    /// has 16 rows and Winograd's transforms cost as much as its multiplies. Its gradients: the
    /// data gradient as the same kernel on dy (stride 1 only), the weight gradient as sums of dy
    /// times the same shifted planes.
    case groupedDirect = "grouped direct"
    /// Groups of few channels on small maps (ResNeXt's 6x6 and 3x3): sixteen images a vector
    /// (`groupedLanesConvForward`), where a map's rows fill a fraction of one and im2col copies
    /// each pixel nine times for GEMMs of 16 rows. The forward only; its gradients are im2col's.
    case groupedLanes = "grouped, images in lanes"
    /// Groups of up to 16 output channels at stride 2 or on small maps (ResNeXt's 24x24 to 12x12
    /// and down): a group's output channels a vector (`groupedChannelsConvForward`), each sum a
    /// broadcast input value times a vector of weights, the input copied once as it lies. The same
    /// sums in the same order as `groupedLanes`, without transposing the input into the lanes.
    /// The forward only; its gradients are im2col's.
    case groupedChannels = "grouped, channels in lanes"
    /// The same layout by Winograd F(2x2, 3x3) (`groupedWinogradConvForward`), for stride-1 3x3s
    /// in inference, where a tile multiplies at most half as much as direct sums: per 16-channel
    /// group the transforms cost too much as passes of their own, but not on 16 images a vector
    /// while a chunk of tiles is in cache. Error as Winograd F(2x2)'s.
    case groupedWinograd = "grouped winograd F(2x2,3x3), images in lanes"

    /// The algorithm for one pass of a convolution of this shape and batch (`g.n`): direct loops
    /// for a depthwise convolution; one GEMM for a 1x1; direct loops for few input channels a
    /// group on rows of 16 outputs or more (`directConvFits`); the whole-map product when the map has
    /// fewer pixels than live taps; im2col over the live taps when the map is smaller than the
    /// kernel's reach; for a grouped convolution of up to 32 channels per group, direct sums on maps
    /// of 64 pixels or more (in its gradients, at stride 1), on smaller ones sixteen images a vector
    /// (forwards of 16 images or more) or im2col, and in inference at 16 images or more Winograd on
    /// that layout for stride-1 3x3s where it multiplies at most half as much; with 9-16 output
    /// channels a group, forwards of 16 images or more at stride 2 or on maps under 64 pixels
    /// that Winograd leaves take a group's channels a vector; for a
    /// 3x3 stride-1 convolution the Winograd tile that multiplies least, if it multiplies at most
    /// half as much as direct convolution (`winogradCost`; on a tie the smaller tile, whose error
    /// is smaller), except in training's forward; im2col otherwise. Measured per shape
    /// (ResNet-18 and ResNeXt at 28 and 96, batch 128, forward and both backwards), this picks
    /// the fastest of the three on every one; at batch 1 the filter transform no longer pays on
    /// small maps, and im2col takes them.
    public static func choose(_ g: ConvGeometry, for pass: ConvPass) -> ConvAlgorithm {
        if g.isDepthwise { return .depthwise }
        if g.isPointwise { return .pointwise }
        if g.directConvFits { return .direct }
        // A small product in inference multiplies prepacked weights faster than Winograd's
        // transforms and tiny GEMMs (ResNet-18's second stage at batch 1: 0.34-0.40 -> 0.2x ms),
        // and than the whole-map matrix, which is rebuilt from the weights every call and larger
        // than they are (ResNet-18's last stage on 2x2 maps at batch 1: 4.6 -> 0.33 ms a conv).
        if pass == .inference && !g.hasDeadTaps && ConvAlgorithm.im2col.multipliesPackedWeights(g) { return .im2col }
        if g.wholeMapApplies { return .wholeMap }
        if g.hasDeadTaps { return .liveTaps }
        if g.groups > 1 && g.groupedDirectApplies {
            // Direct sums fill their vectors on maps of 8x8 and up (a 6x6 map's grid is 75% outputs,
            // a 3x3's 56%); below, sixteen images a vector fill them whatever the map (one core,
            // batch 128: 6x6 4.2 ms against 6.5, 3x3 2.6 against 4.6), and with fewer images one
            // GEMM per group over every image's pixels is faster, and faster than Winograd, whose
            // tiles overhang such maps (6x6 4.3 ms against F(2x2)'s 8.8, 3x3 2.6 against F(4x4)'s
            // 5.2-6.5). Inference first takes Winograd F(2x2) on the lanes layout where it
            // multiplies at most half as much, on maps up to 32x32 (measured up to 24x24; a block's
            // 16 images of 16 channels then stay within a core's 1 MiB L2, and its scratch grows
            // with the map where the grouped direct kernel's grows with one image's). The direct
            // gradients need the data gradient's stride-1 form; strided ones keep im2col's.
            if pass == .inference && g.groupedWinogradApplies && g.n >= 16 && g.outH * g.outW <= 1024
                && winogradCost(g, .f2x2) <= 0.5 {
                return .groupedWinograd
            }
            // Forwards of 16 images or more with over 8 output channels a group (more than half of
            // each vector) take the channels kernel at stride 2 and on small maps (one core, batch
            // 128, 16 channels a group: 24x24 to 12x12 10.7 ms against the direct kernel's 14.0,
            // 12x12 to 6x6 5.4 against the lanes kernel's 8.2, 6x6 to 3x3 3.1 against 3.6, 3x3
            // 2.4 against 2.6).
            if pass != .trainingBackward && g.n >= 16 && g.groupedChannelsApplies && g.groupOutChannels > 8
                && (g.strideW == 2 || g.outH * g.outW < 64) {
                return .groupedChannels
            }
            let direct = g.outH * g.outW >= 64 && (pass != .trainingBackward || g.groupedDirectDataGradientApplies)
            if direct { return .groupedDirect }
            return pass != .trainingBackward && g.groupedLanesApplies && g.n >= 16 ? .groupedLanes : .im2col
        }
        guard g.winogradApplies, pass != .trainingForward else { return .im2col }
        let (f2, f4) = (winogradCost(g, .f2x2), winogradCost(g, .f4x4))
        if min(f2, f4) > 0.5 { return .im2col }
        return f4 < f2 ? .winograd4x4 : .winograd
    }

    /// The forward's algorithm and, in training, the gradients'.
    public static func choose(_ g: ConvGeometry, training: Bool) -> (forward: ConvAlgorithm, backward: ConvAlgorithm?) {
        training ? (choose(g, for: .trainingForward), choose(g, for: .trainingBackward)) : (choose(g, for: .inference), nil)
    }

    /// Multiplies of a Winograd tile per pair of input and output channels, relative to direct
    /// convolution's 9 per output pixel: alpha² per m x m output tile (tiles hanging over the
    /// map's edge count whole) for each image, plus the filter's transform (`G g Gᵀ`: 3·alpha·3 +
    /// alpha·alpha·3), once per call whatever the batch.
    public static func winogradCost(_ g: ConvGeometry, _ tile: WinogradTile) -> Double {
        // In Double: memory budgets ask about batches whose products overflow an Int.
        let m = tile.outputTile, alpha = Double(tile.inputTile), n = Double(g.n)
        let tiles = Double((g.outH + m - 1) / m) * Double((g.outW + m - 1) / m)
        let winograd: Double = alpha * alpha * tiles * n + 9 * alpha + 3 * alpha * alpha
        let direct: Double = 9 * Double(g.outH) * Double(g.outW) * n
        return winograd / direct
    }

    /// Whether this algorithm can compute a convolution of this shape.
    public func applies(to g: ConvGeometry) -> Bool {
        switch self {
        case .depthwise: g.isDepthwise
        case .direct: true
        case .pointwise: g.isPointwise
        case .im2col: !g.isPointwise && !g.hasDeadTaps
        case .liveTaps: !g.isPointwise && g.hasDeadTaps
        case .wholeMap: g.wholeMapApplies
        case .winograd, .winograd4x4: g.winogradApplies
        case .groupedDirect: g.groupedDirectApplies
        case .groupedLanes: g.groupedLanesApplies
        case .groupedChannels: g.groupedChannelsApplies
        case .groupedWinograd: g.groupedWinogradApplies
        }
    }

    /// Floats of scratch it needs for a convolution of `g` (which fixes the batch).
    public func workspaceCount(_ g: ConvGeometry) -> Int {
        switch self {
        case .depthwise: 0
        // None for its own kernels; im2col's, for the input gradient it leaves to im2col.
        case .pointwise, .im2col, .liveTaps, .direct: g.workspaceCount
        case .wholeMap: g.wholeMapWorkspaceCount
        case .winograd: g.winogradWorkspaceCount(.f2x2)
        case .winograd4x4: g.winogradWorkspaceCount(.f4x4)
        case .groupedDirect: g.groupedDirectWorkspaceCount
        // Its own, and im2col's for the gradients it leaves to im2col.
        case .groupedLanes: max(g.groupedLanesWorkspaceCount, g.workspaceCount)
        case .groupedChannels: max(g.groupedChannelsWorkspaceCount, g.workspaceCount)
        case .groupedWinograd: max(g.groupedWinogradWorkspaceCount, g.workspaceCount)
        }
    }

    public func forward(_ g: ConvGeometry, x: UnsafeBufferPointer<Float>, weight: UnsafeBufferPointer<Float>,
                 bias: UnsafeBufferPointer<Float>?, y: UnsafeMutableBufferPointer<Float>,
                 workspace: UnsafeMutableBufferPointer<Float>, epilogue: ConvEpilogue = .none, prepared: UnsafePointer<Float>? = nil) {
        switch self {
        case .depthwise:
            depthwiseConvForward(g, x: x, weight: weight, bias: bias, y: y, epilogue: epilogue)
        case .direct:
            directConvForward(g, x: x, weight: weight, bias: bias, y: y, epilogue: epilogue)
        case .pointwise, .im2col, .liveTaps:
            convForward(g, x: x, weight: weight, bias: bias, y: y, workspace: workspace, epilogue: epilogue, packed: prepared)
        case .wholeMap:
            wholeMapConvForward(g, x: x, weight: weight, bias: bias, y: y, workspace: workspace, epilogue: epilogue)
        case .winograd, .winograd4x4:
            winogradConvForward(g, tile: tile, x: x, weight: weight, bias: bias, y: y, workspace: workspace, epilogue: epilogue,
                                transformed: prepared)
        case .groupedDirect:
            groupedDirectConvForward(g, x: x, weight: weight, bias: bias, y: y, workspace: workspace, epilogue: epilogue)
        case .groupedLanes:
            groupedLanesConvForward(g, x: x, weight: weight, bias: bias, y: y, workspace: workspace, epilogue: epilogue)
        case .groupedChannels:
            groupedChannelsConvForward(g, x: x, weight: weight, bias: bias, y: y, workspace: workspace, epilogue: epilogue)
        case .groupedWinograd:
            groupedWinogradConvForward(g, x: x, weight: weight, bias: bias, y: y, workspace: workspace, epilogue: epilogue)
        }
    }

    public func backwardData(_ g: ConvGeometry, dy: UnsafeBufferPointer<Float>, weight: UnsafeBufferPointer<Float>,
                      dx: UnsafeMutableBufferPointer<Float>, workspace: UnsafeMutableBufferPointer<Float>, accumulate: Bool) {
        switch self {
        case .depthwise:
            depthwiseConvBackwardData(g, dy: dy, weight: weight, dx: dx, accumulate: accumulate)
        case .pointwise, .im2col, .liveTaps, .direct, .groupedLanes, .groupedChannels, .groupedWinograd:
            convBackwardData(g, dy: dy, weight: weight, dx: dx, workspace: workspace, accumulate: accumulate)
        case .wholeMap:
            wholeMapConvBackwardData(g, dy: dy, weight: weight, dx: dx, workspace: workspace, accumulate: accumulate)
        case .winograd, .winograd4x4:
            winogradConvBackwardData(g, tile: tile, dy: dy, weight: weight, dx: dx, workspace: workspace, accumulate: accumulate)
        case .groupedDirect:
            groupedDirectConvBackwardData(g, dy: dy, weight: weight, dx: dx, workspace: workspace, accumulate: accumulate)
        }
    }

    public func backwardFilter(_ g: ConvGeometry, x: UnsafeBufferPointer<Float>, dy: UnsafeBufferPointer<Float>,
                        dWeight: UnsafeMutableBufferPointer<Float>, dBias: UnsafeMutableBufferPointer<Float>?,
                        workspace: UnsafeMutableBufferPointer<Float>) {
        switch self {
        case .depthwise:
            depthwiseConvBackwardFilter(g, x: x, dy: dy, dWeight: dWeight, dBias: dBias)
        case .direct:
            directConvBackwardFilter(g, x: x, dy: dy, dWeight: dWeight, dBias: dBias)
        case .pointwise, .im2col, .liveTaps, .groupedLanes, .groupedChannels, .groupedWinograd:
            convBackwardFilter(g, x: x, dy: dy, dWeight: dWeight, dBias: dBias, workspace: workspace)
        case .wholeMap:
            wholeMapConvBackwardFilter(g, x: x, dy: dy, dWeight: dWeight, dBias: dBias, workspace: workspace)
        case .winograd, .winograd4x4:
            winogradConvBackwardFilter(g, tile: tile, x: x, dy: dy, dWeight: dWeight, dBias: dBias, workspace: workspace)
        case .groupedDirect:
            groupedDirectConvBackwardFilter(g, x: x, dy: dy, dWeight: dWeight, dBias: dBias, workspace: workspace)
        }
    }

    private var tile: WinogradTile { self == .winograd4x4 ? .f4x4 : .f2x2 }

    /// Whether its forward multiplies prepacked weights (`packConvWeights`) for this shape: an
    /// unfolding or 1x1 GEMM of one group whose columns are few enough for `gemmPacked` (a batch
    /// of one on ResNet-18's last three stages), where OpenBLAS would repack the weights every call.
    public func multipliesPackedWeights(_ g: ConvGeometry) -> Bool {
        // Batches are asked about up to sizes whose column count overflows (memory budgets).
        guard [.pointwise, .im2col, .liveTaps].contains(self), g.groups == 1, g.n <= 144, g.outH * g.outW <= 144 else { return false }
        return packedGemmFits(columns: g.n * g.outH * g.outW, depth: g.unfoldedRows)
    }

    /// Floats of the weights as its forward takes them prepared ahead at this shape, for an
    /// inference program to compute once per weight change instead of every call (`prepareWeights`),
    /// or nil when it takes them as they are: packed panels for a small GEMM
    /// (`multipliesPackedWeights`); Winograd's transformed filters when transforming them is at
    /// least 1% of its multiplies (`winogradCost`: small batches; ResNet-18's first stage at batch 1).
    public func preparedWeightCount(_ g: ConvGeometry) -> Int? {
        switch self {
        case .pointwise, .im2col, .liveTaps:
            return multipliesPackedWeights(g) ? packedConvWeightCount(g) : nil
        case .winograd, .winograd4x4:
            // The filter transform's term of `winogradCost`, against the whole.
            let alpha = Double(tile.inputTile), filterCost = (9 * alpha + 3 * alpha * alpha) / (9 * Double(g.outH * g.outW * g.n))
            return filterCost >= 0.01 * Self.winogradCost(g, tile) ? winogradTransformedFilterCount(g, tile: tile) : nil
        case .depthwise, .wholeMap, .groupedDirect, .groupedLanes, .groupedChannels, .groupedWinograd, .direct:
            return nil
        }
    }

    /// Writes `weight` prepared for its forward (`preparedWeightCount(g)` floats) into `prepared`.
    public func prepareWeights(_ g: ConvGeometry, weight: UnsafePointer<Float>, into prepared: UnsafeMutablePointer<Float>) {
        switch self {
        case .pointwise, .im2col, .liveTaps: packConvWeights(g, weight: weight, into: prepared)
        case .winograd, .winograd4x4: winogradTransformFilter(g, tile: tile, weight: weight, into: prepared)
        case .depthwise, .wholeMap, .groupedDirect, .groupedLanes, .groupedChannels, .groupedWinograd, .direct: preconditionFailure("conv: \(rawValue) takes its weights as they are")
        }
    }
}

/// What a convolution is computed for, which bounds the error its algorithm may add.
public enum ConvPass: Sendable {
    /// Inference's forward: Winograd's few ulps stay a few ulps in the logits.
    case inference
    /// Training's forward: its outputs decide every ReLU's mask and every max pool's winner, and
    /// the backward follows those decisions. Winograd's rounding, a few ulps from direct
    /// convolution's (and from PyTorch's), tips ReLU inputs lying within rounding of 0 to the
    /// other side, and with each the whole gradient through it: one SGD step of ResNet-18 parted
    /// from a float64 step by 3e-3 on 2 batches of 5 (F(2x2) as F(4x4)), where im2col stays
    /// within 5e-5 (`scripts/compare_pytorch.py` holds a step to 1e-4). So it takes no Winograd.
    case trainingForward
    /// Training's data and filter gradients: linear in the output gradient, with no decision
    /// left to tip, so Winograd's few ulps stay a few ulps in the step (measured: one SGD step of
    /// ResNet-18 within 4.5e-5 of PyTorch's over 5 batches, as with im2col).
    case trainingBackward
}
