import Testing
import NetcKernels

/// Maps with fewer pixels than live taps, where the whole-map product applies: ResNet-18's 3x3 on
/// 2x2 (batch 1 too), a 1x2 and a 2x3 map, a 5x5 kernel on a 1x3 map, a rectangular kernel.
let wholeMapCases: [ConvGeometry] = [
    ConvGeometry(n: 3, inChannels: 5, height: 2, width: 2, outChannels: 4, kernelH: 3, kernelW: 3, padH: 1, padW: 1),
    ConvGeometry(n: 1, inChannels: 3, height: 2, width: 2, outChannels: 2, kernelH: 3, kernelW: 3, padH: 1, padW: 1),
    ConvGeometry(n: 2, inChannels: 3, height: 1, width: 2, outChannels: 3, kernelH: 3, kernelW: 3, padH: 1, padW: 1),
    ConvGeometry(n: 2, inChannels: 2, height: 2, width: 3, outChannels: 3, kernelH: 3, kernelW: 3, padH: 1, padW: 1),
    ConvGeometry(n: 4, inChannels: 2, height: 1, width: 3, outChannels: 3, kernelH: 5, kernelW: 5, padH: 2, padW: 2),
    ConvGeometry(n: 2, inChannels: 3, height: 2, width: 1, outChannels: 2, kernelH: 3, kernelW: 1, padH: 1),
]

@Test func wholeMapAppliesOnlyWhereItMultipliesLess() {
    #expect(wholeMapCases.allSatisfy { $0.wholeMapApplies })
    let fourByFour = ConvGeometry(n: 1, inChannels: 2, height: 4, width: 4, outChannels: 2, kernelH: 3, kernelW: 3, padH: 1, padW: 1)
    let onePixel = ConvGeometry(n: 1, inChannels: 2, height: 1, width: 1, outChannels: 2, kernelH: 3, kernelW: 3, padH: 1, padW: 1)
    let grouped = ConvGeometry(n: 1, inChannels: 2, height: 2, width: 2, outChannels: 2, kernelH: 3, kernelW: 3, padH: 1, padW: 1, groups: 2)
    let strided = ConvGeometry(n: 1, inChannels: 2, height: 4, width: 4, outChannels: 2, kernelH: 3, kernelW: 3,
                               strideH: 2, strideW: 2, padH: 1, padW: 1)
    // 16 pixels against 9 taps; 1 against 1 live tap (live taps do as well); groups; 16 against 9.
    #expect([fourByFour, onePixel, grouped, strided].allSatisfy { !$0.wholeMapApplies })
}

/// ResNet-18's last stage on 2x2 maps takes the whole-map product in training and at large batches,
/// but prepacked weights in inference at small ones: the whole-map matrix is rebuilt from the
/// weights every call and is larger than they are (at batch 1, 4.6 ms a conv against 0.33).
@Test func smallBatchInferenceTakesPackedWeightsOverWholeMaps() {
    func stage4(n: Int) -> ConvGeometry {
        ConvGeometry(n: n, inChannels: 512, height: 2, width: 2, outChannels: 512, kernelH: 3, kernelW: 3, padH: 1, padW: 1)
    }
    #expect(ConvAlgorithm.choose(stage4(n: 1), for: .inference) == .im2col)
    #expect(ConvAlgorithm.im2col.multipliesPackedWeights(stage4(n: 1)))
    #expect(ConvAlgorithm.choose(stage4(n: 128), for: .inference) == .wholeMap)
    #expect(ConvAlgorithm.choose(stage4(n: 1), training: true) == (.wholeMap, .wholeMap))
}

/// The whole-map kernels against the float64 reference, forward (with bias) and both backwards,
/// dx overwritten and accumulated; the epilogue (residual accumulate, ReLU) on the forward.
@Test(arguments: wholeMapCases.indices)
func wholeMapMatchesReference(_ caseIndex: Int) {
    let g = wholeMapCases[caseIndex]
    var rng = TestRNG(seed: UInt64(300 + caseIndex))
    let x = randomArray(g.inputCount, &rng), w = randomArray(g.weightCount, &rng)
    let b = randomArray(g.outChannels, &rng), dy = randomArray(g.outputCount, &rng)
    let residual = randomArray(g.outputCount, &rng), base = randomArray(g.inputCount, &rng)
    var ws = [Float](repeating: .nan, count: g.wholeMapWorkspaceCount)   // NaN: stale scratch must not leak
    var y = [Float](repeating: .nan, count: g.outputCount), fused = residual
    var dx = [Float](repeating: .nan, count: g.inputCount), acc = base
    var dw = [Float](repeating: .nan, count: g.weightCount), db = [Float](repeating: .nan, count: g.outChannels)
    x.ro { xp in w.ro { wp in b.ro { bp in dy.ro { dyp in ws.withUnsafeMutableBufferPointer { wsp in
        y.withUnsafeMutableBufferPointer { wholeMapConvForward(g, x: xp, weight: wp, bias: bp, y: $0, workspace: wsp) }
        fused.withUnsafeMutableBufferPointer {
            wholeMapConvForward(g, x: xp, weight: wp, bias: bp, y: $0, workspace: wsp,
                                epilogue: ConvEpilogue(accumulate: true, relu: true))
        }
        dx.withUnsafeMutableBufferPointer { wholeMapConvBackwardData(g, dy: dyp, weight: wp, dx: $0, workspace: wsp, accumulate: false) }
        acc.withUnsafeMutableBufferPointer { wholeMapConvBackwardData(g, dy: dyp, weight: wp, dx: $0, workspace: wsp, accumulate: true) }
        dw.withUnsafeMutableBufferPointer { dwp in db.withUnsafeMutableBufferPointer {
            wholeMapConvBackwardFilter(g, x: xp, dy: dyp, dWeight: dwp, dBias: $0, workspace: wsp)
        } }
    } } } } }
    let refY = Reference.convForward(g, x: doubles(x), weight: doubles(w), bias: doubles(b))
    let ref = Reference.convBackward(g, x: doubles(x), weight: doubles(w), dy: doubles(dy))
    expectClose(y, refY, tol: 1e-5, "forward y")
    expectClose(fused, zip(refY, residual).map { max($0 + Double($1), 0) }, tol: 1e-5, "forward + residual, ReLU")
    expectClose(dx, ref.dx, tol: 1e-5, "dx")
    expectClose(acc, zip(base, ref.dx).map { Double($0) + $1 }, tol: 1e-5, "dx accumulate")
    expectClose(dw, ref.dWeight, tol: 1e-5, "dWeight")
    expectClose(db, ref.dBias, tol: 1e-5, "dBias")
    let (xd, wd, bd, r) = (doubles(x), doubles(w), doubles(b), doubles(dy))
    expectGradient(dx, at: xd, "whole-map dx") { weightedSum(Reference.convForward(g, x: $0, weight: wd, bias: bd), r) }
    expectGradient(dw, at: wd, "whole-map dWeight") { weightedSum(Reference.convForward(g, x: xd, weight: $0, bias: bd), r) }
}
