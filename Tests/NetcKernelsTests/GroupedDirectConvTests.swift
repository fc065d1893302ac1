import NetcKernels
import Testing

/// Shapes the grouped direct kernel must get right: ResNeXt's 16-channel groups at stride 1 and
/// 2, one group and 32 groups, 1 to 32 channels per group in and out (tiles of 8 and 4 rows and
/// single rows), odd and non-square maps, padding 0 to 2, a 5x5 and non-square kernels, a stride
/// of 1 by 2 and of 3, a 1x1 with stride, stride-2 rows long and short and of each parity, maps whose grids end inside a vector or span several wide tiles,
/// batch 1, and enough images that the weight gradient takes them in chunks of 3 and 2.
let groupedDirectCases: [ConvGeometry] = [
    ConvGeometry(n: 2, inChannels: 32, height: 7, width: 9, outChannels: 32, kernelH: 3, kernelW: 3, padH: 1, padW: 1, groups: 2),
    ConvGeometry(n: 3, inChannels: 32, height: 11, width: 8, outChannels: 32, kernelH: 3, kernelW: 3, strideH: 2, strideW: 2,
                 padH: 1, padW: 1, groups: 2),
    ConvGeometry(n: 1, inChannels: 16, height: 24, width: 24, outChannels: 16, kernelH: 3, kernelW: 3, padH: 1, padW: 1),
    ConvGeometry(n: 2, inChannels: 32, height: 3, width: 3, outChannels: 64, kernelH: 3, kernelW: 3, padH: 1, padW: 1, groups: 32),
    ConvGeometry(n: 2, inChannels: 12, height: 6, width: 5, outChannels: 21, kernelH: 3, kernelW: 3, strideH: 2, strideW: 2,
                 padH: 1, padW: 1, groups: 3),
    ConvGeometry(n: 1, inChannels: 32, height: 13, width: 10, outChannels: 32, kernelH: 3, kernelW: 3, padH: 0, padW: 0),
    ConvGeometry(n: 2, inChannels: 10, height: 9, width: 6, outChannels: 6, kernelH: 5, kernelW: 5, padH: 2, padW: 2, groups: 2),
    ConvGeometry(n: 2, inChannels: 8, height: 5, width: 12, outChannels: 12, kernelH: 3, kernelW: 2, strideH: 1, strideW: 2,
                 padH: 2, padW: 1, groups: 4),
    ConvGeometry(n: 3, inChannels: 6, height: 7, width: 7, outChannels: 9, kernelH: 1, kernelW: 1, strideH: 2, strideW: 2, groups: 3),
    ConvGeometry(n: 2, inChannels: 64, height: 2, width: 3, outChannels: 16, kernelH: 3, kernelW: 3, padH: 1, padW: 1, groups: 8),
    ConvGeometry(n: 1, inChannels: 16, height: 17, width: 31, outChannels: 24, kernelH: 3, kernelW: 1, padH: 1, padW: 0, groups: 1),
    ConvGeometry(n: 1, inChannels: 16, height: 5, width: 37, outChannels: 16, kernelH: 3, kernelW: 3, strideH: 2, strideW: 2,
                 padH: 1, padW: 1),
    ConvGeometry(n: 2, inChannels: 8, height: 6, width: 18, outChannels: 8, kernelH: 3, kernelW: 3, strideH: 2, strideW: 2,
                 padH: 0, padW: 0, groups: 2),
    ConvGeometry(n: 2, inChannels: 8, height: 7, width: 24, outChannels: 8, kernelH: 3, kernelW: 3, strideH: 2, strideW: 2,
                 padH: 2, padW: 2, groups: 2),
    ConvGeometry(n: 2, inChannels: 6, height: 7, width: 14, outChannels: 6, kernelH: 3, kernelW: 3, strideH: 3, strideW: 3,
                 padH: 1, padW: 1, groups: 3),
    ConvGeometry(n: 5, inChannels: 32, height: 24, width: 20, outChannels: 32, kernelH: 3, kernelW: 3, padH: 1, padW: 1, groups: 2),
]

@Test(arguments: groupedDirectCases.indices)
func groupedDirectMatchesTheReference(_ index: Int) {
    let g = groupedDirectCases[index]
    #expect(g.groupedDirectApplies)
    var rng = TestRNG(seed: UInt64(500 + index))
    let x = randomArray(g.inputCount, &rng), w = randomArray(g.weightCount, &rng)
    let b = randomArray(g.outChannels, &rng), dy = randomArray(g.outputCount, &rng)
    let residual = randomArray(g.outputCount, &rng), base = randomArray(g.inputCount, &rng)
    let gradients = Reference.convBackward(g, x: doubles(x), weight: doubles(w), dy: doubles(dy)), dxReference = gradients.dx
    var workspace = [Float](repeating: .nan, count: g.groupedDirectWorkspaceCount)
    for set in InstructionSet.available {
        expectForwardMatchesReference(g, x: x, weight: w, bias: b, residual: residual, "\(set)") { xp, wp, bp, y, epilogue in
            workspace.withUnsafeMutableBufferPointer {
                groupedDirectConvForward(g, x: xp, weight: wp, bias: bp, y: y, workspace: $0, epilogue: epilogue, instructionSet: set)
            }
        }
        var dw = [Float](repeating: .nan, count: g.weightCount), db = [Float](repeating: .nan, count: g.outChannels)
        x.ro { xp in dy.ro { dyp in workspace.withUnsafeMutableBufferPointer { ws in
            dw.withUnsafeMutableBufferPointer { dwp in db.withUnsafeMutableBufferPointer { dbp in
                groupedDirectConvBackwardFilter(g, x: xp, dy: dyp, dWeight: dwp, dBias: dbp, workspace: ws, instructionSet: set)
            } }
        } } }
        expectClose(dw, gradients.dWeight, tol: 1e-5, "\(set) dWeight")
        expectClose(db, gradients.dBias, tol: 1e-5, "\(set) dBias")
        guard g.groupedDirectDataGradientApplies else { continue }
        var dx = [Float](repeating: .nan, count: g.inputCount), dxOnBase = base
        dy.ro { dyp in w.ro { wp in workspace.withUnsafeMutableBufferPointer { ws in
            dx.withUnsafeMutableBufferPointer {
                groupedDirectConvBackwardData(g, dy: dyp, weight: wp, dx: $0, workspace: ws, accumulate: false, instructionSet: set)
            }
            dxOnBase.withUnsafeMutableBufferPointer {
                groupedDirectConvBackwardData(g, dy: dyp, weight: wp, dx: $0, workspace: ws, accumulate: true, instructionSet: set)
            }
        } } }
        expectClose(dx, dxReference, tol: 1e-5, "\(set) dx")
        expectClose(dxOnBase, zip(base, dxReference).map { Double($0) + $1 }, tol: 1e-5, "\(set) dx accumulated")
    }
}

/// Which shapes the data gradient takes: stride 1 with padding inside the kernel only.
@Test func groupedDirectDataGradientNeedsStrideOne() {
    #expect(groupedDirectCases[0].groupedDirectDataGradientApplies)
    #expect(!groupedDirectCases[1].groupedDirectDataGradientApplies)
    #expect(!groupedDirectCases[7].groupedDirectDataGradientApplies)
    #expect(!ConvGeometry(n: 1, inChannels: 4, height: 4, width: 4, outChannels: 4, kernelH: 3, kernelW: 3, padH: 3, padW: 3,
                          groups: 2).groupedDirectDataGradientApplies)
    #expect(!ConvGeometry(n: 1, inChannels: 128, height: 4, width: 4, outChannels: 128, kernelH: 3, kernelW: 3, padH: 1, padW: 1,
                          groups: 2).groupedDirectApplies, "64 channels per group are past the bound")
    #expect(!ConvGeometry(n: 1, inChannels: 2, height: 40, width: 40, outChannels: 64, kernelH: 7, kernelW: 7, padH: 3, padW: 3,
                          groups: 2).groupedDirectApplies, "the data gradient's 32 x 49 products are past the bound")
}

/// The epilogue's ReLU keeps a NaN, on every instruction set: the outputs whose window holds the
/// NaN stay NaN, every other (negative) output becomes 0.
@Test func groupedDirectReLUKeepsNaN() {
    let g = ConvGeometry(n: 2, inChannels: 32, height: 9, width: 7, outChannels: 32, kernelH: 3, kernelW: 3, padH: 1, padW: 1,
                         groups: 2)
    var x = [Float](repeating: 1, count: g.inputCount)
    let (nanImage, nanRow, nanColumn) = (1, 4, 6)
    x[((3 * g.n + nanImage) * g.height + nanRow) * g.width + nanColumn] = .nan       // channel 3: group 0
    let w = [Float](repeating: -1, count: g.weightCount)
    var workspace = [Float](repeating: 0, count: g.groupedDirectWorkspaceCount)
    for set in InstructionSet.available {
        var y = [Float](repeating: 7, count: g.outputCount)
        x.ro { xp in w.ro { wp in workspace.withUnsafeMutableBufferPointer { ws in y.withUnsafeMutableBufferPointer {
            groupedDirectConvForward(g, x: xp, weight: wp, bias: nil, y: $0, workspace: ws, epilogue: ConvEpilogue(relu: true),
                                     instructionSet: set)
        } } } }
        for c in 0..<g.outChannels {
            for n in 0..<g.n {
                for oh in 0..<g.outH {
                    for ow in 0..<g.outW {
                        let v = y[((c * g.n + n) * g.outH + oh) * g.outW + ow]
                        let readsNaN = c < g.groupOutChannels && n == nanImage && abs(oh - nanRow) <= 1 && abs(ow - nanColumn) <= 1
                        if readsNaN {
                            #expect(v.isNaN, "\(set) channel \(c) image \(n) (\(oh), \(ow))")
                        } else {
                            #expect(v == 0 && v.sign == .plus, "\(set) channel \(c) image \(n) (\(oh), \(ow)): \(v)")
                        }
                    }
                }
            }
        }
    }
}
