import CKernels

// Grouped convolution with one image per vector lane (C, AVX-512 or AVX2 chosen at run time):
// `netc_grouped_lanes` sums taps directly, for ResNeXt's 3x3s on 6x6 and 3x3 maps, where a row of
// pixels fills a fraction of a vector and im2col copies each pixel nine times for GEMMs of 16
// rows; `netc_grouped_winograd` runs Winograd F(2x2, 3x3) on the same layout, for inference's
// stride-1 3x3s, where per group the transforms cost too much as passes of their own. Sixteen
// images a task, transposed into the lanes once; one (group, block) pair per task, spread over
// the cores. Forwards only: their gradients are im2col's.

extension ConvGeometry {
    /// Whether the lanes kernel computes this convolution: a grouped one the grouped direct kernel
    /// takes (up to 32 channels per group, 1,152 products per output). Any batch: lanes past the
    /// last image compute zeros that are never stored (it pays from 16 images on).
    public var groupedLanesApplies: Bool { groups > 1 && groupedDirectApplies }

    /// Floats of scratch the lanes kernel needs: each worker's transposed planes, output grid,
    /// weights and offsets.
    public var groupedLanesWorkspaceCount: Int { lanesWorkers * lanesScratch }

    /// Whether the lanes kernel's Winograd F(2x2, 3x3) computes this convolution: 3x3 at stride 1.
    public var groupedWinogradApplies: Bool { groupedLanesApplies && kernelH == 3 && kernelW == 3 && strideH == 1 && strideW == 1 }

    /// Floats of scratch the lanes Winograd kernel needs: as the lanes kernel's, with the chunks of
    /// transformed inputs and products in place of the weights.
    public var groupedWinogradWorkspaceCount: Int { lanesWorkers * winogradScratch }

    /// Tasks run at once: one per core, or per (group, block of 16 images) when there are fewer.
    /// Never decreases when `n` grows, so a workspace sized for the largest batch serves every smaller one.
    fileprivate var lanesWorkers: Int { max(1, min(kernelThreadCount, groups * ((n + 15) / 16))) }

    /// Floats of one worker's scratch, for the lanes kernel and for its Winograd.
    fileprivate var lanesScratch: Int { withUnsafePointer(to: groupedShape) { netc_grouped_lanes_scratch($0) } }
    fileprivate var winogradScratch: Int { withUnsafePointer(to: groupedShape) { netc_grouped_winograd_scratch($0) } }

    /// The forward convolution as the grouped C kernels take it.
    var groupedShape: netc_grouped_conv {
        netc_grouped_conv(images: n, groups: groups, in_channels: groupInChannels, out_channels: groupOutChannels,
                          height: height, width: width, out_height: outH, out_width: outW,
                          kernel_h: kernelH, kernel_w: kernelW, stride_h: strideH, stride_w: strideW,
                          pad_h: padH, pad_w: padW, data_gradient: 0)
    }
}

/// `y = conv(x, weight) + bias` with `convForward`'s epilogue (onto `y`'s residual when
/// `accumulate`, then ReLU that keeps a NaN); `workspace` at least `g.groupedLanesWorkspaceCount`
/// floats. `instructionSet`: the widest this processor runs unless a test asks for another.
public func groupedLanesConvForward(_ g: ConvGeometry, x: UnsafeBufferPointer<Float>, weight: UnsafeBufferPointer<Float>,
                                    bias: UnsafeBufferPointer<Float>?, y: UnsafeMutableBufferPointer<Float>,
                                    workspace: UnsafeMutableBufferPointer<Float>, epilogue: ConvEpilogue = .none,
                                    instructionSet: InstructionSet? = nil) {
    precondition(g.groupedLanesApplies, "grouped lanes conv: shape not supported")
    runGroupBlocks(netc_grouped_lanes, g, blocks: (g.n + 15) / 16, workers: g.lanesWorkers, scratch: g.lanesScratch,
                   x: x, weight: weight, bias: bias, y: y, workspace: workspace, epilogue: epilogue, instructionSet: instructionSet)
}

/// `groupedLanesConvForward` by Winograd F(2x2, 3x3) (`g.groupedWinogradApplies`); `workspace` at
/// least `g.groupedWinogradWorkspaceCount` floats.
public func groupedWinogradConvForward(_ g: ConvGeometry, x: UnsafeBufferPointer<Float>, weight: UnsafeBufferPointer<Float>,
                                       bias: UnsafeBufferPointer<Float>?, y: UnsafeMutableBufferPointer<Float>,
                                       workspace: UnsafeMutableBufferPointer<Float>, epilogue: ConvEpilogue = .none,
                                       instructionSet: InstructionSet? = nil) {
    precondition(g.groupedWinogradApplies, "grouped winograd conv: shape not supported")
    runGroupBlocks(netc_grouped_winograd, g, blocks: (g.n + 15) / 16, workers: g.lanesWorkers, scratch: g.winogradScratch,
                   x: x, weight: weight, bias: bias, y: y, workspace: workspace, epilogue: epilogue, instructionSet: instructionSet)
}

/// Runs a kernel over every (group, block of images) pair, `blocks` a group, a contiguous share for
/// each of `workers` workers, each with `scratch` floats of its own.
func runGroupBlocks(_ kernel: (UnsafePointer<netc_grouped_conv>?, UnsafePointer<Float>?, UnsafePointer<Float>?,
                               UnsafePointer<Float>?, UnsafeMutablePointer<Float>?, Int32, Int32, Int, Int,
                               UnsafeMutablePointer<Float>?, Int32) -> Void,
                    _ g: ConvGeometry, blocks: Int, workers: Int, scratch: Int, x: UnsafeBufferPointer<Float>,
                    weight: UnsafeBufferPointer<Float>, bias: UnsafeBufferPointer<Float>?, y: UnsafeMutableBufferPointer<Float>,
                    workspace: UnsafeMutableBufferPointer<Float>, epilogue: ConvEpilogue, instructionSet: InstructionSet?) {
    precondition(x.count >= g.inputCount && y.count >= g.outputCount && weight.count >= g.weightCount
                 && (bias?.count ?? g.outChannels) >= g.outChannels && workspace.count >= workers * scratch,
                 "grouped conv: buffer too small")
    let items = g.groups * blocks, itemWork = (g.n + blocks - 1) / blocks * g.groupOutChannels * g.outH * g.outW * g.patchSize
    let xp = x.baseAddress!, wp = weight.baseAddress!, bp = bias?.baseAddress, yp = y.baseAddress!, base = workspace.baseAddress!
    let level = instructionSet?.rawValue ?? -1
    withUnsafePointer(to: g.groupedShape) { s in
        parallelFor(workers, workPerItem: items / workers * itemWork) { range in
            for w in range {
                kernel(s, xp, wp, bp, yp, epilogue.accumulate ? 1 : 0, epilogue.relu ? 1 : 0,
                       w * items / workers, (w + 1) * items / workers, base + w * scratch, level)
            }
        }
    }
}
