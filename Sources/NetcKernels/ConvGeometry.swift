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
    /// Rows of the im2col matrix of one group: `Cin/g * KH * KW` (also the weight row length).
    public var patchSize: Int { groupInChannels * kernelH * kernelW }
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
        let byCache = chunkTargetFloats / max(1, patchSize * ohw)
        let byColumns = (chunkMinColumns + ohw - 1) / ohw
        return max(1, min(n, max(byCache, byColumns)))
    }

    /// Floats of scratch the conv kernels need: one group's im2col matrix for one chunk,
    /// `[Cin/g*KH*KW, imagesPerChunk*OH*OW]`, or 0 for the pointwise fast path.
    public var workspaceCount: Int { isPointwise ? 0 : patchSize * imagesPerChunk * outH * outW }
}

/// Target floats of unfolded patches per chunk (4 MiB).
let chunkTargetFloats = 1 << 20
/// Minimum GEMM columns per chunk.
let chunkMinColumns = 2048
