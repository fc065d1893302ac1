import CKernels

// Direct convolution for groups of few channels (ResNeXt's 3x3s: 16 in and 16 out per group, on
// 24x24 down to 3x3 maps). Per group, im2col and GEMM multiply a 16-row matrix by a 144-deep one,
// and Winograd's transforms cost as much as its few multiplies; here `netc_grouped_conv` (C,
// AVX-512 or AVX2 chosen at run time) copies each image's group of planes once into zero-padded
// phase planes and sums the 144 shifted products of every 8 x 48 tile of outputs in registers
// (see conv_direct.c). One (group, image) pair per task, spread over the cores; each output is
// summed in the same order whatever the split. The data gradient of a stride-1 convolution is the
// same kernel run on dy with the weights transposed and flipped; the weight gradient
// (`netc_grouped_conv_filter`) sums dy times the same shifted planes, one group per task.

extension ConvGeometry {
    /// Whether the grouped direct kernel computes this convolution: up to 32 channels per group
    /// in and out (wider, and a group's GEMM is deep enough for OpenBLAS) and up to 1,152 products
    /// per output either way (the kernel keeps an offset per product on its stack), not a depthwise
    /// one (its own kernel) nor a 1x1 without stride or padding (one GEMM on the input as it lies).
    public var groupedDirectApplies: Bool {
        !isDepthwise && !isPointwise && groupInChannels <= 32 && groupOutChannels <= 32
            && max(groupInChannels, groupOutChannels) * kernelH * kernelW <= 1152
    }

    /// Whether it also computes the data gradient: stride 1 and padding within the kernel, so that
    /// the gradient is a stride-1 convolution of dy (`dataGradientGeometry`).
    public var groupedDirectDataGradientApplies: Bool {
        groupedDirectApplies && strideH == 1 && strideW == 1 && padH < kernelH && padW < kernelW
    }

    /// The convolution whose output is this one's data gradient: dy's channels in, x's out, on
    /// dy's maps padded by `kernel - 1 - pad` (back to x's size at stride 1).
    var dataGradientGeometry: ConvGeometry {
        ConvGeometry(n: n, inChannels: outChannels, height: outH, width: outW, outChannels: inChannels,
                     kernelH: kernelH, kernelW: kernelW, padH: kernelH - 1 - padH, padW: kernelW - 1 - padW, groups: groups)
    }

    /// Floats of scratch the grouped direct kernels need: each worker's planes, output grid and
    /// packed weights, for the forward, the weight gradient and (where it applies) the data gradient.
    public var groupedDirectWorkspaceCount: Int {
        let shape = directShape(dataGradient: false)
        var count = max(directWorkers * shape.scratch, filterWorkers * withUnsafePointer(to: shape) { netc_grouped_conv_filter_scratch($0) })
        if groupedDirectDataGradientApplies {
            count = max(count, directWorkers * Int(dataGradientGeometry.directShape(dataGradient: true).scratch))
        }
        return count
    }

    /// Tasks run at once: one per core, or per (group, image) pair when there are fewer. Never
    /// decreases when `n` grows, so a workspace sized for the largest batch serves every smaller one.
    fileprivate var directWorkers: Int { max(1, min(kernelThreadCount, groups * n)) }

    /// Tasks of the weight gradient run at once: one per core, or per group when there are fewer.
    fileprivate var filterWorkers: Int { min(kernelThreadCount, groups) }

    fileprivate func directShape(dataGradient: Bool) -> netc_grouped_conv {
        netc_grouped_conv(images: n, groups: groups, in_channels: groupInChannels, out_channels: groupOutChannels,
                         height: height, width: width, out_height: outH, out_width: outW,
                         kernel_h: kernelH, kernel_w: kernelW, stride_h: strideH, stride_w: strideW,
                         pad_h: padH, pad_w: padW, data_gradient: dataGradient ? 1 : 0)
    }
}

extension netc_grouped_conv {
    fileprivate var scratch: Int { withUnsafePointer(to: self) { netc_grouped_conv_scratch($0) } }
}

/// `y = conv(x, weight) + bias` with `convForward`'s epilogue (onto `y`'s residual when
/// `accumulate`, then ReLU that keeps a NaN); `workspace` at least `g.groupedDirectWorkspaceCount`
/// floats. `instructionSet`: the widest this processor runs unless a test asks for another.
public func groupedDirectConvForward(_ g: ConvGeometry, x: UnsafeBufferPointer<Float>, weight: UnsafeBufferPointer<Float>,
                                     bias: UnsafeBufferPointer<Float>?, y: UnsafeMutableBufferPointer<Float>,
                                     workspace: UnsafeMutableBufferPointer<Float>, epilogue: ConvEpilogue = .none,
                                     instructionSet: InstructionSet? = nil) {
    precondition(g.groupedDirectApplies, "grouped direct conv: shape not supported")
    precondition(x.count >= g.inputCount && y.count >= g.outputCount && weight.count >= g.weightCount
                 && (bias?.count ?? g.outChannels) >= g.outChannels && workspace.count >= g.groupedDirectWorkspaceCount,
                 "grouped direct conv: buffer too small")
    runDirect(g, g.directShape(dataGradient: false), x: x.baseAddress!, weight: weight.baseAddress!, bias: bias?.baseAddress,
              y: y.baseAddress!, workspace: workspace.baseAddress!, accumulate: epilogue.accumulate, relu: epilogue.relu,
              instructionSet: instructionSet)
}

/// `dx (+)= ∂L/∂x` of a stride-1 convolution (`g.groupedDirectDataGradientApplies`): dy convolved
/// with the weights transposed and flipped; `workspace` as for the forward.
public func groupedDirectConvBackwardData(_ g: ConvGeometry, dy: UnsafeBufferPointer<Float>, weight: UnsafeBufferPointer<Float>,
                                          dx: UnsafeMutableBufferPointer<Float>, workspace: UnsafeMutableBufferPointer<Float>,
                                          accumulate: Bool, instructionSet: InstructionSet? = nil) {
    precondition(g.groupedDirectDataGradientApplies, "grouped direct conv: data gradient not supported for this shape")
    precondition(dx.count >= g.inputCount && dy.count >= g.outputCount && weight.count >= g.weightCount
                 && workspace.count >= g.groupedDirectWorkspaceCount, "grouped direct conv: buffer too small")
    let t = g.dataGradientGeometry
    runDirect(t, t.directShape(dataGradient: true), x: dy.baseAddress!, weight: weight.baseAddress!, bias: nil,
              y: dx.baseAddress!, workspace: workspace.baseAddress!, accumulate: accumulate, relu: false,
              instructionSet: instructionSet)
}

/// `dWeight = ∂L/∂w` and `dBias = ∂L/∂b` (overwritten); `workspace` as for the forward. Each group
/// sums its images in one fixed order, so the result does not depend on the number of threads.
public func groupedDirectConvBackwardFilter(_ g: ConvGeometry, x: UnsafeBufferPointer<Float>, dy: UnsafeBufferPointer<Float>,
                                            dWeight: UnsafeMutableBufferPointer<Float>, dBias: UnsafeMutableBufferPointer<Float>?,
                                            workspace: UnsafeMutableBufferPointer<Float>, instructionSet: InstructionSet? = nil) {
    precondition(g.groupedDirectApplies, "grouped direct conv: shape not supported")
    precondition(x.count >= g.inputCount && dy.count >= g.outputCount && dWeight.count >= g.weightCount
                 && (dBias?.count ?? g.outChannels) >= g.outChannels && workspace.count >= g.groupedDirectWorkspaceCount,
                 "grouped direct conv: buffer too small")
    let shape = g.directShape(dataGradient: false), workers = g.filterWorkers
    let scratch = withUnsafePointer(to: shape) { netc_grouped_conv_filter_scratch($0) }
    let xp = x.baseAddress!, dyp = dy.baseAddress!, dwp = dWeight.baseAddress!, base = workspace.baseAddress!
    let level = instructionSet?.rawValue ?? -1
    withUnsafePointer(to: shape) { s in
        parallelFor(workers, workPerItem: g.groups / workers * g.n * g.groupOutChannels * g.outH * g.outW * g.patchSize) { range in
            for w in range {
                netc_grouped_conv_filter(s, xp, dyp, dwp, w * g.groups / workers, (w + 1) * g.groups / workers, base + w * scratch, level)
            }
        }
    }
    if let dBias { channelSums(dyp, channels: g.outChannels, plane: g.n * g.outH * g.outW, into: dBias.baseAddress!) }
}

/// Runs `netc_grouped_conv` over every (group, image) pair, a contiguous share per worker, each
/// worker with its own scratch.
private func runDirect(_ g: ConvGeometry, _ shape: netc_grouped_conv, x: UnsafePointer<Float>, weight: UnsafePointer<Float>,
                       bias: UnsafePointer<Float>?, y: UnsafeMutablePointer<Float>, workspace: UnsafeMutablePointer<Float>,
                       accumulate: Bool, relu: Bool, instructionSet: InstructionSet?) {
    let items = g.groups * g.n, workers = g.directWorkers, scratch = shape.scratch
    let itemWork = g.groupOutChannels * g.outH * g.outW * g.patchSize
    let level = instructionSet?.rawValue ?? -1
    withUnsafePointer(to: shape) { s in
        parallelFor(workers, workPerItem: items / workers * itemWork) { range in
            for w in range {
                netc_grouped_conv(s, x, weight, bias, y, accumulate ? 1 : 0, relu ? 1 : 0,
                                 w * items / workers, (w + 1) * items / workers, workspace + w * scratch, level)
            }
        }
    }
}
