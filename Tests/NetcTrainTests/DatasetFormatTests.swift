import Foundation
import NetcIR
import NetcRuntime
import NetcSpec
import Testing
@testable import NetcTrain

/// The formats beside IDX, read from files the tests write in each format: CIFAR's binary
/// records (both variants) and NumPy arrays; channels come from the data and must match the
/// network's input.
@Suite struct DatasetFormatTests {
    /// A CIFAR record: `labels` bytes, then each of the 3 planes filled with `plane + k` for plane k.
    static func record(labels: [UInt8], plane: UInt8) -> [UInt8] {
        labels + (0..<3).flatMap { k in [UInt8](repeating: plane &+ UInt8(k), count: 1024) }
    }

    @Test func cifar10ReadsEveryTrainingBatchInOrderAndItsTestBatch() throws {
        let dir = try makeTempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try writeBytes(Self.record(labels: [3], plane: 10) + Self.record(labels: [9], plane: 20), "\(dir)/data_batch_1.bin")
        try writeBytes(Self.record(labels: [0], plane: 30), "\(dir)/data_batch_2.bin")
        try writeBytes(Self.record(labels: [5], plane: 40), "\(dir)/test_batch.bin")
        #expect(DatasetFormats.format(of: dir).name == "cifar")
        let train = try CIFARFormat.load(dir, split: .train, input: .map(3, 32, 32)), test = try CIFARFormat.load(dir, split: .test, input: .map(3, 32, 32))
        #expect(train.count == 3 && train.labels == [3, 9, 0] && test.labels == [5])
        #expect([train.channels, train.height, train.width] == [3, 32, 32] as [Int])
        // Image 1's planes: red 20, green 21, blue 22, each 32x32, scaled as ToTensor.
        let batch = ImageBatcher(dataset: train).batch(indices: [1])
        #expect(batch.shape == [1, 3, 32, 32])
        #expect(batch.images[0] == 20 / 255 && batch.images[1024] == 21 / 255 && batch.images[3071] == 22 / 255)
        // Resized, each plane is resized on its own.
        let small = ImageBatcher(dataset: train, resizeTo: 8).batch(indices: [2])
        #expect(small.shape == [1, 3, 8, 8] && small.images[0] == 30 / 255 && small.images[64] == 31 / 255)
    }

    @Test func cifar100TakesTheFineLabel() throws {
        let dir = try makeTempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try writeBytes(Self.record(labels: [4, 77], plane: 1), "\(dir)/train.bin")
        try writeBytes(Self.record(labels: [19, 99], plane: 2), "\(dir)/test.bin")
        #expect(try CIFARFormat.load(dir, split: .train, input: .map(3, 32, 32)).labels == [77])
        #expect(try CIFARFormat.load(dir, split: .test, input: .map(3, 32, 32)).labels == [99])
    }

    @Test func aTruncatedCIFARFileIsAnErrorThatSaysSo() throws {
        let dir = try makeTempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try writeBytes(Array(Self.record(labels: [3], plane: 10).dropLast(7)), "\(dir)/data_batch_1.bin")
        let error = #expect(throws: DataFileError.self) { try CIFARFormat.load(dir, split: .train, input: .map(3, 32, 32)) }
        #expect(error?.description == "\(dir)/data_batch_1.bin: 3066 bytes are not a whole number of 3073-byte CIFAR records (1 label byte and 3072 pixels); the file is truncated or not CIFAR")
    }

    /// NumPy arrays go in as they are (no scaling), and labels must be class numbers.
    @Test func npyArraysAreReadUnscaledWithCheckedLabels() throws {
        let dir = try makeTempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let x = (0..<2 * 3 * 4 * 4).map { Float($0) - 10 }
        try NPY.write(NPYArray(shape: [2, 3, 4, 4], data: x), to: "\(dir)/train_x.npy")
        try NPY.write(NPYArray(shape: [2], data: [1, 0]), to: "\(dir)/train_y.npy")
        #expect(DatasetFormats.format(of: dir).name == "npy")
        let train = try NPYFormat.load(dir, split: .train, input: .map(3, 32, 32))
        #expect([train.count, train.channels, train.height, train.width] == [2, 3, 4, 4] as [Int] && train.labels == [1, 0])
        #expect(ImageBatcher(dataset: train).batch(indices: [0, 1]).images == x)

        try NPY.write(NPYArray(shape: [2], data: [1, 0.5]), to: "\(dir)/train_y.npy")
        let error = #expect(throws: TrainingError.self) { try NPYFormat.load(dir, split: .train, input: .map(3, 32, 32)) }
        #expect(error?.message.hasPrefix("\(dir)/train_y.npy: labels must be class indices") == true, "\(error?.message ?? "")")
        try NPY.write(NPYArray(shape: [3], data: [1, 0, 2]), to: "\(dir)/train_y.npy")
        let count = #expect(throws: DataFileError.self) { try NPYFormat.load(dir, split: .train, input: .map(3, 32, 32)) }
        #expect(count?.message == "has shape [3]; \(dir)/train_x.npy holds 2 image(s), so one label each: [2]")
    }

    /// Colour data for a grayscale network is refused before training, saying how to fix the spec;
    /// a network declared with 3 channels trains on it.
    @Test func channelsComeFromTheDataAndMustMatchTheNetwork() throws {
        let dir = try makeTempDir(), run = try makeTempDir()
        defer { for d in [dir, run] { try? FileManager.default.removeItem(atPath: d) } }
        var rng = SplitMix64(seed: 3)
        for (split, n) in [("train", 32), ("test", 8)] {
            let labels = (0..<n).map { Float($0 % 4) }
            let x = (0..<n * 3 * 8 * 8).map { i in Float(labels[i / 192]) * 0.5 + Float(rng.uniform(0, 0.2)) }
            try NPY.write(NPYArray(shape: [n, 3, 8, 8], data: x), to: "\(dir)/\(split)_x.npy")
            try NPY.write(NPYArray(shape: [n], data: labels), to: "\(dir)/\(split)_y.npy")
        }
        let gray = try #require(Compiler.compile(source: TrainerTests.spec, file: "tiny.yaml").graph)
        let error = #expect(throws: TrainingError.self) { try DatasetFormats.load(dir, split: .train, for: gray) }
        #expect(error?.description == """
            tiny takes 1-channel images, but the training set in \(dir) has 3 channel(s)
            help: set 'input: {channels: 3, ...}' in the spec to train on this data
            """)

        let spec = TrainerTests.spec.replacingOccurrences(of: "channels: 1", with: "channels: 3")
        let color = try #require(Compiler.compile(source: spec, file: "tiny3.yaml").graph)
        var options = TrainerTests.options(dir, epochs: 1)
        options.logEvery = 100
        let trainer = try Trainer(graph: color, specText: spec, options: options, runDirectory: run)
        trainer.progressEnabled = false
        let result = try trainer.run()
        #expect(result.epochs.count == 1 && result.epochs[0].trainLoss.isFinite)
    }
}
