import Testing
import NetcKernels

/// Shapes for the direct kernels: the stem (1 channel, 7x7 stride 2 pad 3) on odd, non-square maps
/// whose rows end in each kind of column block (the AVX-512 tile's 48 columns, single vectors of
/// 16, a partial last vector), 1 to 4 input channels, stride 1, 2 and 3, rectangular kernels and
/// strides, groups, batch 1 (split into bands of rows), and output channel counts that fill no
/// whole tile (1, 5, 9, 13).
let directConvCases: [ConvGeometry] = [
    ConvGeometry(n: 2, inChannels: 1, height: 40, width: 39, outChannels: 9, kernelH: 7, kernelW: 7,
                 strideH: 2, strideW: 2, padH: 3, padW: 3),                               // 20 x 20: a vector + a tail
    ConvGeometry(n: 1, inChannels: 1, height: 97, width: 96, outChannels: 13, kernelH: 7, kernelW: 7,
                 strideH: 2, strideW: 2, padH: 3, padW: 3),                               // 49 x 48: one wide block
    ConvGeometry(n: 3, inChannels: 2, height: 11, width: 67, outChannels: 5, kernelH: 3, kernelW: 3,
                 padH: 1, padW: 1),                                                       // 67 wide, stride 1
    ConvGeometry(n: 2, inChannels: 3, height: 9, width: 100, outChannels: 8, kernelH: 5, kernelW: 5,
                 strideH: 2, strideW: 2, padH: 2, padW: 2),                               // 50: wide + a tail vector
    ConvGeometry(n: 1, inChannels: 4, height: 8, width: 35, outChannels: 17, kernelH: 2, kernelW: 3,
                 strideH: 1, strideW: 2, padH: 0, padW: 1),                               // rectangular, 18 wide
    ConvGeometry(n: 2, inChannels: 4, height: 13, width: 50, outChannels: 6, kernelH: 3, kernelW: 3,
                 strideH: 3, strideW: 3, padH: 1, padW: 0, groups: 2),                    // groups, stride 3
    ConvGeometry(n: 1, inChannels: 1, height: 5, width: 7, outChannels: 1, kernelH: 3, kernelW: 3,
                 padH: 1, padW: 1),                                                       // 5 x 7: a tail only
    ConvGeometry(n: 2, inChannels: 2, height: 6, width: 130, outChannels: 3, kernelH: 1, kernelW: 4,
                 strideH: 1, strideW: 1, padH: 0, padW: 0),                               // 127: 2 wide blocks + tail
]

/// `directConvForward` with every epilogue, on the given instruction set.
private func runDirectForward(_ g: ConvGeometry, _ x: [Float], _ w: [Float], bias: [Float]?, residual: [Float]?,
                              relu: Bool, _ set: InstructionSet) -> [Float] {
    var y = residual ?? [Float](repeating: .nan, count: g.outputCount)   // NaN: an output left unwritten shows
    let b = bias ?? []
    x.ro { xp in w.ro { wp in b.ro { bp in y.withUnsafeMutableBufferPointer {
        directConvForward(g, x: xp, weight: wp, bias: bias == nil ? nil : bp, y: $0,
                          epilogue: ConvEpilogue(accumulate: residual != nil, relu: relu), instructionSet: set)
    } } } }
    return y
}

/// The forward against the float64 reference on every instruction set this processor runs: no
/// bias; bias; and bias, residual and ReLU together.
@Test(arguments: InstructionSet.available, directConvCases.indices)
func directConvForwardMatchesReference(_ set: InstructionSet, _ caseIndex: Int) {
    let g = directConvCases[caseIndex]
    var rng = TestRNG(seed: UInt64(300 + caseIndex))
    let x = randomArray(g.inputCount, &rng), w = randomArray(g.weightCount, &rng)
    let b = randomArray(g.outChannels, &rng), residual = randomArray(g.outputCount, &rng)
    let plain = Reference.convForward(g, x: doubles(x), weight: doubles(w), bias: nil)
    let biased = Reference.convForward(g, x: doubles(x), weight: doubles(w), bias: doubles(b))
    let what = "\(set) case \(caseIndex)"
    expectClose(runDirectForward(g, x, w, bias: nil, residual: nil, relu: false, set), plain, tol: 1e-5, "\(what) plain")
    expectClose(runDirectForward(g, x, w, bias: b, residual: nil, relu: false, set), biased, tol: 1e-5, "\(what) bias")
    expectClose(runDirectForward(g, x, w, bias: b, residual: residual, relu: true, set),
                zip(biased, residual).map { max($0 + Double($1), 0) }, tol: 1e-5, "\(what) bias, residual and ReLU")
}

/// A batch of one runs in bands of output rows, a larger batch an image a task: an image's
/// outputs have the same bits either way.
@Test func directConvForwardIsTheSameWhateverTheSplit() {
    let batch = ConvGeometry(n: 9, inChannels: 2, height: 41, width: 38, outChannels: 9, kernelH: 7, kernelW: 7,
                             strideH: 2, strideW: 2, padH: 3, padW: 3)
    var one = batch
    one.n = 1
    var rng = TestRNG(seed: 17)
    let x = randomArray(batch.inputCount, &rng), w = randomArray(batch.weightCount, &rng)
    let plane = batch.height * batch.width, outPlane = batch.outH * batch.outW, image = 4
    var xImage: [Float] = []
    for c in 0..<2 { xImage += x[(c * 9 + image) * plane ..< (c * 9 + image + 1) * plane] }
    let all = runDirectForward(batch, x, w, bias: nil, residual: nil, relu: false, .widest)
    let alone = runDirectForward(one, xImage, w, bias: nil, residual: nil, relu: false, .widest)
    var expected: [Float] = []
    for o in 0..<9 { expected += all[(o * 9 + image) * outPlane ..< (o * 9 + image + 1) * outPlane] }
    #expect(one.directBandRows < one.outH, "a batch of one splits its rows")
    #expect(alone == expected)
}

/// The epilogue's ReLU keeps a NaN, in tiles wholly inside a row (48 wide) and in tiles ending past
/// it (40 wide: a partial last vector), under the first vector and the last, and clears what it
/// should: every output reads x = 1 through weights of -1, except those whose window holds the NaN.
@Test(arguments: InstructionSet.available)
func directConvReLUKeepsNaN(_ set: InstructionSet) {
    for width in [40, 48] {
        let g = ConvGeometry(n: 1, inChannels: 1, height: 6, width: width, outChannels: 9, kernelH: 3, kernelW: 3,
                             padH: 1, padW: 1)
        for column in [3, width - 2] {
            var x = [Float](repeating: 1, count: g.inputCount)
            x[2 * g.width + column] = .nan
            let y = runDirectForward(g, x, [Float](repeating: -1, count: g.weightCount), bias: nil, residual: nil, relu: true, set)
            for o in 0..<g.outChannels { for i in 0..<g.outH { for j in 0..<g.outW {
                let v = y[(o * g.outH + i) * g.outW + j]
                if abs(i - 2) <= 1 && abs(j - column) <= 1 {
                    #expect(v.isNaN, "\(set), width \(width): output (\(i), \(j))")
                } else {
                    #expect(v == 0)
                }
            } } }
        }
    }
}

/// The weight and bias gradients against the float64 reference on every instruction set this
/// processor runs, and against finite differences on the widest.
@Test(arguments: InstructionSet.available, directConvCases.indices)
func directConvBackwardFilterMatchesReference(_ set: InstructionSet, _ caseIndex: Int) {
    let g = directConvCases[caseIndex]
    var rng = TestRNG(seed: UInt64(400 + caseIndex))
    let x = randomArray(g.inputCount, &rng), w = randomArray(g.weightCount, &rng), dy = randomArray(g.outputCount, &rng)
    let (dw, db) = runDirectFilter(g, x, dy, set)
    let ref = Reference.convBackward(g, x: doubles(x), weight: doubles(w), dy: doubles(dy))
    expectClose(dw, ref.dWeight, tol: 1e-5, "\(set) case \(caseIndex) dWeight")
    expectClose(db, ref.dBias, tol: 1e-5, "\(set) case \(caseIndex) dBias")
    if set == .widest {
        let (xd, r) = (doubles(x), doubles(dy))
        expectGradient(dw, at: doubles(w), "direct conv dWeight") {
            weightedSum(Reference.convForward(g, x: xd, weight: $0, bias: nil), r)
        }
    }
}

/// Lanes past a row's last output read input columns no output reads (here the last one, 21, of
/// a 22-wide row under 3x3 stride 2): an inf there must not reach the gradient as 0 * inf.
@Test(arguments: InstructionSet.available)
func directConvBackwardFilterIgnoresColumnsNoOutputReads(_ set: InstructionSet) {
    let g = ConvGeometry(n: 2, inChannels: 1, height: 5, width: 22, outChannels: 5, kernelH: 3, kernelW: 3, strideH: 2, strideW: 2)
    var rng = TestRNG(seed: 23)
    var x = randomArray(g.inputCount, &rng)
    let dy = randomArray(g.outputCount, &rng)
    for row in 0..<(g.n * g.height) { x[row * g.width + 21] = .infinity }
    let (dw, _) = runDirectFilter(g, x, dy, set)
    let ref = Reference.convBackward(g, x: doubles(x), weight: zeros(g.weightCount).map(Double.init), dy: doubles(dy))
    #expect(dw.allSatisfy { $0.isFinite })
    expectClose(dw, ref.dWeight, tol: 1e-5, "\(set) dWeight")
}

private func runDirectFilter(_ g: ConvGeometry, _ x: [Float], _ dy: [Float], _ set: InstructionSet) -> (dw: [Float], db: [Float]) {
    var dw = [Float](repeating: .nan, count: g.weightCount), db = [Float](repeating: .nan, count: g.outChannels)
    x.ro { xp in dy.ro { dyp in dw.withUnsafeMutableBufferPointer { dwp in db.withUnsafeMutableBufferPointer { dbp in
        directConvBackwardFilter(g, x: xp, dy: dyp, dWeight: dwp, dBias: dbp, instructionSet: set)
    } } } }
    return (dw, db)
}

/// Which shapes go to the direct kernels: the stem of ResNet-18 and ResNeXt (one channel, 7x7
/// stride 2 on 96x96) and an RGB stem at 224; not many input channels, rows shorter than a vector,
/// or fewer output channels than a tile.
@Test func directConvFitsFewInputChannels() {
    let stem = ConvGeometry(n: 128, inChannels: 1, height: 96, width: 96, outChannels: 64, kernelH: 7, kernelW: 7,
                            strideH: 2, strideW: 2, padH: 3, padW: 3)
    #expect(stem.directConvFits)
    var rgb = stem
    rgb.inChannels = 3; rgb.height = 224; rgb.width = 224
    #expect(rgb.directConvFits)
    var deep = stem
    deep.inChannels = 64
    #expect(!deep.directConvFits)
    var small = stem
    small.height = 20; small.width = 20
    #expect(!small.directConvFits)
    var narrow = stem
    narrow.outChannels = 4
    #expect(!narrow.directConvFits)
}
