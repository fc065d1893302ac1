import Testing
@testable import NetcTrain

@Suite struct ResizeTests {
    @Test func upsample2x2To4x4MatchesPyTorchHalfPixel() {
        // align_corners=False, scale 0.5: source coords -0.25→0, 0.25, 0.75, 1.25→clamped,
        // so taps per axis are (1,0), (.75,.25), (.25,.75), and at the edge
        // PyTorch keeps lambda = .25 but points both taps at pixel 1.
        let w = BilinearWeights(inSize: 2, outSize: 4)
        #expect(w.index0 == [0, 0, 0, 1])
        #expect(w.index1 == [1, 1, 1, 1])
        #expect(w.lambda0 == [1, 0.75, 0.25, 0.75])
        #expect(w.lambda1 == [0, 0.25, 0.75, 0.25])

        let r = BilinearResizer(inHeight: 2, inWidth: 2, outHeight: 4, outWidth: 4)
        let out = r.resize([0, 4,
                            8, 20], planes: 1)
        #expect(out == [0, 1, 3, 4,
                        2, 3.5, 6.5, 8,
                        6, 8.5, 13.5, 16,
                        8, 11, 17, 20])
    }

    @Test func equalSizeIsIdentity() {
        let input = (0..<(3 * 5 * 7)).map { Float($0) * 0.37 - 4 }
        let r = BilinearResizer(inHeight: 5, inWidth: 7, outHeight: 5, outWidth: 7)
        #expect(r.resize(input, planes: 3) == input)
    }

    @Test func fashionMNISTTaps28To96() {
        let w = BilinearWeights(inSize: 28, outSize: 96)
        let ratio = Float(28) / Float(96)
        // o = 0, 1: source index clamps to 0 (ratio*1.5-0.5 = -0.0625).
        #expect(w.index0[0] == 0 && w.lambda1[0] == 0)
        #expect(w.index0[1] == 0 && w.lambda1[1] == 0)
        // o = 2: ratio*2.5 - 0.5 = 0.22916...
        #expect(w.index0[2] == 0 && w.index1[2] == 1)
        #expect(w.lambda1[2] == ratio * 2.5 - 0.5)
        #expect(abs(w.lambda1[2] - 0.2291667) < 1e-6)
        // o = 95: 27.354... → both taps on the last pixel.
        #expect(w.index0[95] == 27 && w.index1[95] == 27)
        #expect(w.lambda0.indices.allSatisfy { abs(w.lambda0[$0] + w.lambda1[$0] - 1) < 1e-6 })
    }

    @Test func multiplePlanesAndConstantsStayConstant() {
        let r = BilinearResizer(inHeight: 3, inWidth: 4, outHeight: 7, outWidth: 9)
        let input = [Float](repeating: 0.5, count: 12) + [Float](repeating: -2, count: 12)
        let out = r.resize(input, planes: 2)
        #expect(out.count == 2 * 63)
        #expect(out[..<63].allSatisfy { $0 == 0.5 })
        #expect(out[63...].allSatisfy { $0 == -2 })
    }

    @Test func cachedResizerIsShared() {
        let a = BilinearResizer.cached(inHeight: 28, inWidth: 28, outHeight: 96, outWidth: 96)
        let b = BilinearResizer.cached(inHeight: 28, inWidth: 28, outHeight: 96, outWidth: 96)
        #expect(a.rows == b.rows && a.cols == a.rows)
    }

    @Test func batcherNormalizesAndResizes() throws {
        // Two 2×2 images.
        let ds = try IDXDataset(images: [0, 51, 102, 255,  255, 255, 255, 255],
                                labels: [7, 2], height: 2, width: 2)
        let plain = ImageBatcher(dataset: ds.imageSet).batch(indices: [1, 0])
        #expect(plain.shape == [2, 1, 2, 2])
        #expect(plain.labels == [2, 7])
        #expect(plain.images == [1, 1, 1, 1, 0, Float(51) / 255, Float(102) / 255, 1])

        let big = ImageBatcher(dataset: ds.imageSet, resizeTo: 4).batch(indices: [0])
        #expect(big.shape == [1, 1, 4, 4])
        // Row 0 of the upsample: p00, .75 p00 + .25 p01, .25 p00 + .75 p01, p01.
        let p01 = Float(51) / 255
        #expect(big.images[0] == 0)
        #expect(abs(big.images[1] - 0.25 * p01) < 1e-7)
        #expect(abs(big.images[2] - 0.75 * p01) < 1e-7)
        #expect(big.images[3] == p01)
        #expect(big.images[15] == 1)

        let rounded = ImageBatcher(dataset: ds.imageSet, resizeTo: 4, rounding: .uint8).batch(indices: [0])
        // .25 * 51 = 12.75 → 13; .75 * 51 = 38.25 → 38.
        #expect(rounded.images[1] == Float(13) / 255)
        #expect(rounded.images[2] == Float(38) / 255)
    }
}
