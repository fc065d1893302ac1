import Foundation
import NetcIR
import NetcSpec
import Testing
@testable import NetcTrain

/// Augmentation and normalisation, as torchvision's RandomCrop(padding), RandomHorizontalFlip and
/// Normalize compute them: each crop a shifted window of the zero-padded image, each flip a mirror,
/// the draws fixed by seed, epoch and image, and the statistics those of the data.
@Suite struct ImageTransformsTests {
    /// Three 5x6 two-channel images with distinct values.
    static let data = try! ImageSet(pixels: .floats((0..<3 * 2 * 5 * 6).map { Float($0 + 1) }), labels: [0, 1, 2],
                                    channels: 2, height: 5, width: 6, source: "t")

    static func transformed(_ transforms: ImageTransforms, index: Int, epoch: Int) -> [Float] {
        var out = [Float](repeating: 0, count: 60)
        out.withUnsafeMutableBufferPointer { ImageBatcher(dataset: data, transforms: transforms).fill(
            indices: [index], images: $0, labels: .allocate(capacity: 1), epoch: epoch) }
        return out
    }

    static func original(_ index: Int) -> [Float] { (0..<60).map { Float(index * 60 + $0 + 1) } }

    @Test func eachCropIsAShiftedWindowOfThePaddedImage() {
        let t = ImageTransforms(augment: .init(cropPadding: 2), mean: [], std: [], seed: 5)
        var shifts = Set<[Int]>()
        for epoch in 0..<40 {
            let got = Self.transformed(t, index: 1, epoch: epoch), src = Self.original(1)
            let shift = (-2...2).flatMap { dy in (-2...2).map { dx in [dy, dx] } }.first { s in
                (0..<60).allSatisfy { k in
                    let (c, y, x) = (k / 30, k / 6 % 5, k % 6), (sy, sx) = (y + s[0], x + s[1])
                    return got[k] == (sy >= 0 && sy < 5 && sx >= 0 && sx < 6 ? src[c * 30 + sy * 6 + sx] : 0)
                }
            }
            #expect(shift != nil, "epoch \(epoch): not a window of the padded image")
            if let shift { shifts.insert(shift) }
        }
        #expect(shifts.count > 10, "the crops vary: \(shifts.count) of 25 windows in 40 epochs")
        #expect(Self.transformed(t, index: 1, epoch: 7) == Self.transformed(t, index: 1, epoch: 7), "a fixed seed repeats")
    }

    @Test func aFlipMirrorsEveryRowAboutHalfTheTime() {
        let t = ImageTransforms(augment: .init(flip: true), mean: [], std: [], seed: 1)
        let src = Self.original(2)
        let mirrored: [Float] = (0..<60).map { (k: Int) -> Float in src[k / 6 * 6 + 5 - k % 6] }
        let flips = (0..<200).map { epoch -> Bool in
            let got = Self.transformed(t, index: 2, epoch: epoch)
            #expect(got == src || got == mirrored)
            return got == mirrored
        }
        #expect((70...130).contains(flips.filter { $0 }.count))
    }

    @Test func normalisationUsesTheDataOwnStatistics() throws {
        let (mean, std) = try TrainSpec.Normalization.computed.values(for: Self.data, source: "t")
        for c in 0..<2 {
            let values = (0..<3).flatMap { i in (0..<30).map { Double(i * 60 + c * 30 + $0 + 1) } }
            let m = values.reduce(0, +) / 90, s = (values.map { ($0 - m) * ($0 - m) }.reduce(0, +) / 90).squareRoot()
            #expect(abs(Double(mean[c]) - m) < 1e-4 && abs(Double(std[c]) - s) < 1e-4)
        }
        let t = ImageTransforms(augment: nil, mean: [1, 2], std: [2, 4], seed: 0)
        let got = Self.transformed(t, index: 0, epoch: 0)
        #expect(got[0] == (1 - 1) / 2 && got[30] == (31 - 2) / 4)
        let wrong = #expect(throws: TrainingError.self) { try TrainSpec.Normalization.given(mean: [0.5], std: [0.2]).values(for: Self.data, source: "d") }
        #expect(wrong?.message == "the recipe normalises 1 channel(s), but d has 2")
    }

    /// `normalize: computed` trains with the measured statistics and records them in the run's
    /// checkpoints, so evaluation divides by the same numbers.
    @Test func computedStatisticsAreRecordedInTheRun() throws {
        let data = try makeTempDir(), run = try makeTempDir()
        defer { for d in [data, run] { try? FileManager.default.removeItem(atPath: d) } }
        try TrainerTests.writeDataset(data)
        var options = TrainerTests.options(data, epochs: 1)
        options.normalize = .computed
        options.augment = .init(cropPadding: 1, flip: true)
        let trainer = try Trainer(graph: try TrainerTests.graph(), specText: TrainerTests.spec, options: options, runDirectory: run)
        trainer.progressEnabled = false
        _ = try trainer.run()
        guard case .given(let mean, let std)? = try Checkpoint.read(trainer.checkpointPath).options?.normalize else {
            Issue.record("the checkpoint's recipe has no measured statistics")
            return
        }
        let measured = try IDXDataset.load(directory: data, split: .train).imageSet.channelStatistics()
        #expect(mean == measured.mean.map(Double.init) && std == measured.std.map(Double.init))
    }
}
