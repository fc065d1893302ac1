import CKernels

// Grouped convolution with a group's output channels in the vector lanes (C, AVX-512 or AVX2
// chosen at run time; conv_grouped_channels.c explains the layout): `netc_grouped_channels` sums
// taps directly, a broadcast input value times a vector of 16 output channels' weights, for
// ResNeXt's groups of 16 at stride 2 and on small maps, where the images-in-lanes kernel spends
// its time transposing inputs. A block of images a task (as many as fit 128 KiB of planes), one
// (group, block) pair per task, spread over the cores. The same sums, in the same order, as the
// images-in-lanes kernel. Forward only: its gradients are im2col's.

extension ConvGeometry {
    /// Whether the channels kernel computes this convolution: a grouped one the grouped direct
    /// kernel takes, with up to 16 output channels a group (one vector) and a stride of 1 or 2
    /// across rows (compiled in).
    public var groupedChannelsApplies: Bool {
        groups > 1 && groupedDirectApplies && groupOutChannels <= 16 && (strideW == 1 || strideW == 2)
    }

    /// Floats of scratch the channels kernel needs: each worker's padded planes, output grid,
    /// weights and offsets.
    public var groupedChannelsWorkspaceCount: Int { channelsWorkers * channelsScratch }

    /// Blocks of images a group's batch is split into.
    fileprivate var channelsBlocks: Int { withUnsafePointer(to: groupedShape) { netc_grouped_channels_blocks($0) } }

    /// Tasks run at once: one per core, or per (group, block) when there are fewer. Never decreases
    /// when `n` grows, so a workspace sized for the largest batch serves every smaller one.
    fileprivate var channelsWorkers: Int { max(1, min(kernelThreadCount, groups * channelsBlocks)) }

    fileprivate var channelsScratch: Int { withUnsafePointer(to: groupedShape) { netc_grouped_channels_scratch($0) } }
}

/// `y = conv(x, weight) + bias` with `convForward`'s epilogue (onto `y`'s residual when
/// `accumulate`, then ReLU that keeps a NaN); `workspace` at least `g.groupedChannelsWorkspaceCount`
/// floats. `instructionSet`: the widest this processor runs unless a test asks for another.
public func groupedChannelsConvForward(_ g: ConvGeometry, x: UnsafeBufferPointer<Float>, weight: UnsafeBufferPointer<Float>,
                                       bias: UnsafeBufferPointer<Float>?, y: UnsafeMutableBufferPointer<Float>,
                                       workspace: UnsafeMutableBufferPointer<Float>, epilogue: ConvEpilogue = .none,
                                       instructionSet: InstructionSet? = nil) {
    precondition(g.groupedChannelsApplies, "grouped channels conv: shape not supported")
    runGroupBlocks(netc_grouped_channels, g, blocks: g.channelsBlocks, workers: g.channelsWorkers, scratch: g.channelsScratch,
                   x: x, weight: weight, bias: bias, y: y, workspace: workspace, epilogue: epilogue, instructionSet: instructionSet)
}
