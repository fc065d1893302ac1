// Shape of a convolution and how its kernels split the batch into chunks.

/// Shape and hyper-parameters of a convolution. Activations are CNHW, weights are
/// PyTorch's `[Cout, Cin/groups, KH, KW]`.
public struct ConvGeometry: Equatable, Sendable {
    public var n: Int
    public var inChannels: Int
    public var height: Int
    public var width: Int
    public var outChannels: Int
    public var kernelH: Int
    public var kernelW: Int
    public var strideH: Int
    public var strideW: Int
    public var padH: Int
    public var padW: Int
    public var groups: Int
    /// Images unfolded per GEMM, or nil for the cache-sized default (see `imagesPerChunk`).
    /// Tests set it small to run many chunks on small shapes.
    public var chunkImages: Int?

    public init(n: Int, inChannels: Int, height: Int, width: Int, outChannels: Int,
                kernelH: Int, kernelW: Int, strideH: Int = 1, strideW: Int = 1,
                padH: Int = 0, padW: Int = 0, groups: Int = 1, chunkImages: Int? = nil) {
        precondition(groups >= 1 && inChannels % groups == 0 && outChannels % groups == 0,
                     "conv: channels must be divisible by groups")
        precondition(kernelH >= 1 && kernelW >= 1 && strideH >= 1 && strideW >= 1 && padH >= 0 && padW >= 0)
        precondition(chunkImages.map { $0 >= 1 } ?? true, "conv: chunkImages must be positive")
        self.n = n; self.inChannels = inChannels; self.height = height; self.width = width
        self.outChannels = outChannels; self.kernelH = kernelH; self.kernelW = kernelW
        self.strideH = strideH; self.strideW = strideW; self.padH = padH; self.padW = padW
        self.groups = groups; self.chunkImages = chunkImages
        precondition(outH >= 1 && outW >= 1, "conv: kernel larger than padded input")
    }

    public var outH: Int { (height + 2 * padH - kernelH) / strideH + 1 }
    public var outW: Int { (width + 2 * padW - kernelW) / strideW + 1 }
    /// Input channels per group.
    public var groupInChannels: Int { inChannels / groups }
    /// Output channels per group.
    public var groupOutChannels: Int { outChannels / groups }
    /// The weight row length of one group: `Cin/g * KH * KW`.
    public var patchSize: Int { groupInChannels * kernelH * kernelW }

    /// Kernel taps (`kh * KW + kw`) that read an input pixel for at least one output position,
    /// as a bit set. The others only ever multiply padding: on maps as small as ResNet-18's
    /// last stage at 28x28 (1x1), eight of a 3x3 kernel's nine taps are dead, and unfolding
    /// and multiplying them would be 9x the work. Kernels larger than 64 taps count all as live.
    public var liveTaps: UInt64 {
        let all: UInt64 = kernelH * kernelW >= 64 ? ~0 : (1 << UInt64(kernelH * kernelW)) - 1
        guard kernelH * kernelW < 64 else { return all }
        var mask: UInt64 = 0
        for ki in 0..<kernelH where isLive(ki, outH, height, strideH, padH) {
            for kj in 0..<kernelW where isLive(kj, outW, width, strideW, padW) { mask |= 1 << UInt64(ki * kernelW + kj) }
        }
        return mask
    }

    /// Live taps: `KH * KW` unless some only read padding.
    public var liveTapCount: Int { kernelH * kernelW >= 64 ? kernelH * kernelW : liveTaps.nonzeroBitCount }
    /// Whether some taps only read padding (the kernels then unfold and multiply the live ones).
    public var hasDeadTaps: Bool { liveTapCount < kernelH * kernelW }
    /// Rows of one group's im2col matrix: `Cin/g` times the live taps.
    public var unfoldedRows: Int { groupInChannels * liveTapCount }

    /// Whether kernel offset `k` along an axis reads the input for some output position.
    private func isLive(_ k: Int, _ out: Int, _ size: Int, _ stride: Int, _ pad: Int) -> Bool {
        let (lo, hi) = validRange(out: out, size: size, stride: stride, pad: pad, kOff: k)
        return lo < hi
    }
    public var inputCount: Int { inChannels * n * height * width }
    public var outputCount: Int { outChannels * n * outH * outW }
    public var weightCount: Int { outChannels * patchSize }
    /// True when X itself is the im2col matrix (1x1, stride 1, no padding): no copy needed.
    public var isPointwise: Bool {
        kernelH == 1 && kernelW == 1 && strideH == 1 && strideW == 1 && padH == 0 && padW == 0
    }

    /// Images the kernels unfold at a time (1...n). By default the chunk's im2col matrix is
    /// about `chunkTargetFloats` (cache-sized, so unfolding never round-trips through DRAM),
    /// but at least `chunkMinColumns` GEMM columns (small late-stage maps would otherwise give
    /// skinny, inefficient GEMMs). Never decreases when `n` grows, so a workspace sized for
    /// the largest batch serves every smaller one.
    public var imagesPerChunk: Int {
        if let chunkImages { return max(1, min(n, chunkImages)) }
        let ohw = outH * outW
        let byCache = chunkTargetFloats / max(1, unfoldedRows * ohw)
        let byColumns = (chunkMinColumns + ohw - 1) / ohw
        return max(1, min(n, max(byCache, byColumns)))
    }

    /// Groups the GEMM kernels process at once, each by one thread that runs the whole group
    /// alone (unfolding, GEMM, epilogue) with its own scratch: when the groups split evenly over
    /// the threads, or are many. ResNeXt's 8-32 groups of 16 channels otherwise cost three short
    /// dispatches across the cores per group and chunk, around GEMMs of 16 rows too small to
    /// split well; at 96x96, batch 128, its strided grouped convolutions ran 1.5-2x as fast this way.
    /// Scheduling only: a group computes the same bits either way (GEMMs never split along k).
    public var groupsAtOnce: Int { groupsRunAtOnce(groups) }

    /// Floats of scratch the conv kernels need for one group: its im2col matrix for one chunk,
    /// `[Cin/g*taps, imagesPerChunk*OH*OW]`, and with dead taps its weights (or their gradient)
    /// over the live taps, `[Cout/g, Cin/g*taps]`; 0 for the pointwise fast path.
    public var groupScratchCount: Int {
        if isPointwise { return 0 }
        return unfoldedRows * imagesPerChunk * outH * outW + (hasDeadTaps ? groupOutChannels * unfoldedRows : 0)
    }

    /// Floats of scratch the conv kernels need: one group's for each group at once.
    public var workspaceCount: Int { groupsAtOnce * groupScratchCount }

    /// The `t`-th live tap (`t < liveTapCount`).
    @inline(__always)
    func liveTap(_ t: Int, in mask: UInt64) -> Int {
        if !hasDeadTapsMask(mask) { return t }
        var m = mask
        for _ in 0..<t { m &= m - 1 }
        return m.trailingZeroBitCount
    }

    @inline(__always)
    func hasDeadTapsMask(_ mask: UInt64) -> Bool { kernelH * kernelW < 64 && mask.nonzeroBitCount < kernelH * kernelW }
}

/// How many of a grouped kernel's `groups` run at once, a whole group per thread: every thread
/// when the groups split evenly over them, or are many (4 a thread or more, so that the uneven
/// last share costs little); else 1, and each group's steps are spread over the threads instead.
func groupsRunAtOnce(_ groups: Int) -> Int {
    let t = kernelThreadCount
    guard t > 1, groups > 1, groups % t == 0 || groups >= 4 * t else { return 1 }
    return min(t, groups)
}

/// Target floats of unfolded patches per chunk (4 MiB).
let chunkTargetFloats = 1 << 20
/// Minimum GEMM columns per chunk.
let chunkMinColumns = 2048
