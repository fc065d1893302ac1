import NetcKernels
import Testing

/// Shapes the lanes kernel must get right: ResNeXt's 16-channel groups on 6x6 and 3x3 maps at
/// stride 1 and 2 (a 12x12 map in), 32 groups, a whole block of 16 images and a partial one
/// (1, 5, 21 images: lanes past the last image), channel counts that fill no whole tile of 8
/// (3, 12, 21; 16 is AVX2's 6 + 6 + a tile of 4, 21 AVX-512's 8 + 8 + 4 + 1), odd and non-square
/// maps and kernels, no padding and padding of 2, a stride of 3, and a 1x1 with stride.
let groupedLanesCases: [ConvGeometry] = [
    ConvGeometry(n: 16, inChannels: 32, height: 6, width: 6, outChannels: 32, kernelH: 3, kernelW: 3, padH: 1, padW: 1, groups: 2),
    ConvGeometry(n: 21, inChannels: 32, height: 12, width: 12, outChannels: 32, kernelH: 3, kernelW: 3, strideH: 2, strideW: 2,
                 padH: 1, padW: 1, groups: 2),
    ConvGeometry(n: 17, inChannels: 64, height: 3, width: 3, outChannels: 64, kernelH: 3, kernelW: 3, padH: 1, padW: 1, groups: 32),
    ConvGeometry(n: 5, inChannels: 12, height: 5, width: 7, outChannels: 42, kernelH: 3, kernelW: 3, padH: 1, padW: 1, groups: 2),
    ConvGeometry(n: 1, inChannels: 6, height: 4, width: 3, outChannels: 9, kernelH: 3, kernelW: 2, padH: 2, padW: 0, groups: 3),
    ConvGeometry(n: 18, inChannels: 8, height: 7, width: 7, outChannels: 8, kernelH: 3, kernelW: 3, strideH: 3, strideW: 3,
                 padH: 1, padW: 1, groups: 2),
    ConvGeometry(n: 16, inChannels: 6, height: 5, width: 5, outChannels: 9, kernelH: 1, kernelW: 1, strideH: 2, strideW: 2, groups: 3),
]

@Test(arguments: groupedLanesCases.indices)
func groupedLanesMatchesTheReference(_ index: Int) {
    let g = groupedLanesCases[index]
    #expect(g.groupedLanesApplies)
    expectGroupedForwardMatchesReference(g, seed: UInt64(700 + index), workspaceCount: g.groupedLanesWorkspaceCount,
                                         groupedLanesConvForward)
}

/// The lanes kernel's Winograd F(2x2, 3x3), within Winograd F(2x2)'s bound (`winogradTolerance`):
/// ResNeXt's groups on 24x24 and 6x6, maps whose tiles overhang (odd sizes: 5x7, 3x3, 1x4), no
/// padding and padding of 2, channel counts that fill no whole tile (3, 12, 21), partial image
/// blocks, and more tiles than one chunk holds.
let groupedWinogradCases: [ConvGeometry] = [
    ConvGeometry(n: 16, inChannels: 32, height: 24, width: 24, outChannels: 32, kernelH: 3, kernelW: 3, padH: 1, padW: 1, groups: 2),
    ConvGeometry(n: 21, inChannels: 32, height: 6, width: 6, outChannels: 32, kernelH: 3, kernelW: 3, padH: 1, padW: 1, groups: 2),
    ConvGeometry(n: 5, inChannels: 12, height: 5, width: 7, outChannels: 42, kernelH: 3, kernelW: 3, padH: 1, padW: 1, groups: 2),
    ConvGeometry(n: 17, inChannels: 9, height: 3, width: 3, outChannels: 9, kernelH: 3, kernelW: 3, padH: 1, padW: 1, groups: 3),
    ConvGeometry(n: 3, inChannels: 6, height: 5, width: 8, outChannels: 6, kernelH: 3, kernelW: 3, padH: 0, padW: 0, groups: 2),
    ConvGeometry(n: 2, inChannels: 8, height: 1, width: 4, outChannels: 8, kernelH: 3, kernelW: 3, padH: 2, padW: 1, groups: 4),
]

@Test(arguments: groupedWinogradCases.indices)
func groupedWinogradMatchesTheReference(_ index: Int) {
    let g = groupedWinogradCases[index]
    #expect(g.groupedWinogradApplies)
    expectGroupedForwardMatchesReference(g, seed: UInt64(800 + index), workspaceCount: g.groupedWinogradWorkspaceCount,
                                         tol: winogradTolerance(.f2x2), groupedWinogradConvForward)
}

/// Small-map grouped 3x3s of 8 channels a group (too few for the channels kernel's vectors) take
/// the lanes kernel forward at batch 16 and up, im2col's gradients and im2col below 16 images;
/// maps of 64 pixels or more keep the grouped direct kernel in training; inference takes the lanes
/// Winograd where its tiles fit the map, up to 32x32.
@Test func groupedLanesIsChosenForSmallMapsAndFullBatches() {
    func geometry(n: Int, size: Int) -> ConvGeometry {
        ConvGeometry(n: n, inChannels: 256, height: size, width: size, outChannels: 256, kernelH: 3, kernelW: 3,
                     padH: 1, padW: 1, groups: 32)
    }
    #expect(ConvAlgorithm.choose(geometry(n: 128, size: 6), training: true) == (.groupedLanes, .im2col))
    #expect(ConvAlgorithm.choose(geometry(n: 128, size: 3), for: .inference) == .groupedLanes, "Winograd's tiles overhang 3x3")
    #expect(ConvAlgorithm.choose(geometry(n: 8, size: 6), for: .inference) == .im2col)
    #expect(ConvAlgorithm.choose(geometry(n: 128, size: 12), training: true) == (.groupedDirect, .groupedDirect))
    #expect(ConvAlgorithm.choose(geometry(n: 128, size: 6), for: .inference) == .groupedWinograd)
    #expect(ConvAlgorithm.choose(geometry(n: 128, size: 24), for: .inference) == .groupedWinograd)
    #expect(ConvAlgorithm.choose(geometry(n: 16, size: 56), for: .inference) == .groupedDirect, "past 32x32")
}
