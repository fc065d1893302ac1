import NetcKernels
import Testing

/// Depthwise shapes the direct kernels must get right: MobileNet's 3x3 at stride 1 and 2, odd and
/// non-square maps, padding wider than the map, a 5x5 and a non-square kernel, batch 1.
let depthwiseCases: [ConvGeometry] = [
    ConvGeometry(n: 2, inChannels: 3, height: 7, width: 5, outChannels: 3, kernelH: 3, kernelW: 3, padH: 1, padW: 1, groups: 3),
    ConvGeometry(n: 3, inChannels: 4, height: 9, width: 8, outChannels: 4, kernelH: 3, kernelW: 3, strideH: 2, strideW: 2,
                 padH: 1, padW: 1, groups: 4),
    ConvGeometry(n: 1, inChannels: 2, height: 2, width: 3, outChannels: 2, kernelH: 5, kernelW: 5, padH: 2, padW: 2, groups: 2),
    ConvGeometry(n: 2, inChannels: 5, height: 6, width: 4, outChannels: 5, kernelH: 3, kernelW: 2, strideH: 1, strideW: 2,
                 padH: 0, padW: 1, groups: 5),
    ConvGeometry(n: 2, inChannels: 3, height: 1, width: 1, outChannels: 3, kernelH: 3, kernelW: 3, padH: 1, padW: 1, groups: 3),
]

@Test(arguments: depthwiseCases.indices)
func depthwiseMatchesTheReference(_ index: Int) {
    let g = depthwiseCases[index]
    #expect(g.isDepthwise)
    var rng = TestRNG(seed: UInt64(300 + index))
    let x = randomArray(g.inputCount, &rng), w = randomArray(g.weightCount, &rng)
    let b = randomArray(g.outChannels, &rng), dy = randomArray(g.outputCount, &rng)
    let residual = randomArray(g.outputCount, &rng), base = randomArray(g.inputCount, &rng)
    let refY = Reference.convForward(g, x: doubles(x), weight: doubles(w), bias: doubles(b))
    let ref = Reference.convBackward(g, x: doubles(x), weight: doubles(w), dy: doubles(dy))

    var y = [Float](repeating: .nan, count: g.outputCount), onResidual = residual
    var dx = [Float](repeating: .nan, count: g.inputCount), dxOnBase = base
    var dw = [Float](repeating: .nan, count: g.weightCount), db = [Float](repeating: .nan, count: g.outChannels)
    x.ro { xp in w.ro { wp in b.ro { bp in dy.ro { dyp in
        y.withUnsafeMutableBufferPointer { depthwiseConvForward(g, x: xp, weight: wp, bias: bp, y: $0) }
        onResidual.withUnsafeMutableBufferPointer {
            depthwiseConvForward(g, x: xp, weight: wp, bias: bp, y: $0, epilogue: ConvEpilogue(accumulate: true, relu: true))
        }
        dx.withUnsafeMutableBufferPointer { depthwiseConvBackwardData(g, dy: dyp, weight: wp, dx: $0, accumulate: false) }
        dxOnBase.withUnsafeMutableBufferPointer { depthwiseConvBackwardData(g, dy: dyp, weight: wp, dx: $0, accumulate: true) }
        dw.withUnsafeMutableBufferPointer { dwp in db.withUnsafeMutableBufferPointer { dbp in
            depthwiseConvBackwardFilter(g, x: xp, dy: dyp, dWeight: dwp, dBias: dbp)
        } }
    } } } }
    expectClose(y, refY, tol: 1e-5, "forward")
    expectClose(onResidual, zip(residual, refY).map { max(Double($0) + $1, 0) }, tol: 1e-5, "forward onto a residual, ReLU")
    expectClose(dx, ref.dx, tol: 1e-5, "dx")
    expectClose(dxOnBase, zip(base, ref.dx).map { Double($0) + $1 }, tol: 1e-5, "dx accumulated")
    expectClose(dw, ref.dWeight, tol: 1e-5, "dWeight")
    expectClose(db, ref.dBias, tol: 1e-5, "dBias")
}
