import NetcKernels
import Testing

/// Shapes the channels kernel must get right: ResNeXt's 16-channel groups at stride 2 from 24x24
/// (blocks of 3 images: 5 leaves a partial one) and 12x12 (blocks of 16: 21 leaves 5), and at
/// stride 1 on 3x3; output channels that fill no whole vector (12, 3); odd and non-square maps
/// (a 7-wide row at stride 2 ends on a half pair), rows wider than any tile (26: tiles of 8 and
/// single pixels), non-square kernels, no padding and padding of 2, a row stride of 3 with a
/// column stride of 1, a 1x1 with stride, and one image.
let groupedChannelsCases: [ConvGeometry] = [
    ConvGeometry(n: 5, inChannels: 32, height: 24, width: 24, outChannels: 32, kernelH: 3, kernelW: 3, strideH: 2, strideW: 2,
                 padH: 1, padW: 1, groups: 2),
    ConvGeometry(n: 21, inChannels: 32, height: 12, width: 12, outChannels: 32, kernelH: 3, kernelW: 3, strideH: 2, strideW: 2,
                 padH: 1, padW: 1, groups: 2),
    ConvGeometry(n: 17, inChannels: 64, height: 3, width: 3, outChannels: 64, kernelH: 3, kernelW: 3, padH: 1, padW: 1, groups: 4),
    ConvGeometry(n: 4, inChannels: 12, height: 5, width: 7, outChannels: 24, kernelH: 3, kernelW: 3, strideH: 2, strideW: 2,
                 padH: 1, padW: 1, groups: 2),
    ConvGeometry(n: 2, inChannels: 8, height: 9, width: 26, outChannels: 6, kernelH: 3, kernelW: 2, padH: 2, padW: 0, groups: 2),
    ConvGeometry(n: 3, inChannels: 6, height: 10, width: 6, outChannels: 9, kernelH: 3, kernelW: 3, strideH: 3, strideW: 1,
                 padH: 0, padW: 2, groups: 3),
    ConvGeometry(n: 16, inChannels: 6, height: 5, width: 5, outChannels: 9, kernelH: 1, kernelW: 1, strideH: 2, strideW: 2, groups: 3),
    ConvGeometry(n: 1, inChannels: 32, height: 6, width: 6, outChannels: 32, kernelH: 3, kernelW: 3, strideH: 2, strideW: 2,
                 padH: 1, padW: 1, groups: 2),
]

@Test(arguments: groupedChannelsCases.indices)
func groupedChannelsMatchesTheReference(_ index: Int) {
    let g = groupedChannelsCases[index]
    #expect(g.groupedChannelsApplies)
    expectGroupedForwardMatchesReference(g, seed: UInt64(900 + index), workspaceCount: g.groupedChannelsWorkspaceCount,
                                         groupedChannelsConvForward)
}

/// The channels kernel sums each output's products in the images-in-lanes kernel's order, so the
/// two agree to the bit on every instruction set: switching between them changes no result.
@Test(arguments: groupedChannelsCases.indices.filter { groupedChannelsCases[$0].groupedLanesApplies })
func groupedChannelsEqualsTheLanesKernel(_ index: Int) {
    let g = groupedChannelsCases[index]
    var rng = TestRNG(seed: UInt64(950 + index))
    let x = randomArray(g.inputCount, &rng), w = randomArray(g.weightCount, &rng), b = randomArray(g.outChannels, &rng)
    var channelsScratch = [Float](repeating: .nan, count: g.groupedChannelsWorkspaceCount)
    var lanesScratch = [Float](repeating: .nan, count: g.groupedLanesWorkspaceCount)
    for set in InstructionSet.available {
        var channels = [Float](repeating: .nan, count: g.outputCount), lanes = channels
        x.ro { xp in w.ro { wp in b.ro { bp in
            channels.withUnsafeMutableBufferPointer { y in channelsScratch.withUnsafeMutableBufferPointer {
                groupedChannelsConvForward(g, x: xp, weight: wp, bias: bp, y: y, workspace: $0, instructionSet: set)
            } }
            lanes.withUnsafeMutableBufferPointer { y in lanesScratch.withUnsafeMutableBufferPointer {
                groupedLanesConvForward(g, x: xp, weight: wp, bias: bp, y: y, workspace: $0, instructionSet: set)
            } }
        } } }
        #expect(channels.map(\.bitPattern) == lanes.map(\.bitPattern), "\(set)")
    }
}

/// ResNeXt's grouped 3x3s of 16 channels a group take the channels kernel forward at stride 2 and
/// on maps under 64 pixels where Winograd does not, from 16 images on; their gradients stay im2col's.
@Test func groupedChannelsIsChosenForStridesAndSmallMaps() {
    func geometry(n: Int, size: Int, stride: Int, channels: Int = 256, groups: Int = 16) -> ConvGeometry {
        ConvGeometry(n: n, inChannels: channels, height: size, width: size, outChannels: channels, kernelH: 3, kernelW: 3,
                     strideH: stride, strideW: stride, padH: 1, padW: 1, groups: groups)
    }
    #expect(ConvAlgorithm.choose(geometry(n: 128, size: 24, stride: 2), training: true) == (.groupedChannels, .im2col))
    #expect(ConvAlgorithm.choose(geometry(n: 128, size: 12, stride: 2), for: .inference) == .groupedChannels)
    #expect(ConvAlgorithm.choose(geometry(n: 128, size: 3, stride: 1), for: .inference) == .groupedChannels)
    #expect(ConvAlgorithm.choose(geometry(n: 128, size: 6, stride: 1), for: .inference) == .groupedWinograd)
    #expect(ConvAlgorithm.choose(geometry(n: 8, size: 12, stride: 2), for: .inference) == .im2col, "fewer than 16 images")
    #expect(ConvAlgorithm.choose(geometry(n: 128, size: 6, stride: 1, channels: 128, groups: 32), training: true)
            == (.groupedLanes, .im2col), "4 channels a group fill a quarter of a vector")
}
