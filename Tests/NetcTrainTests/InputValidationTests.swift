import Foundation
import NetcIR
import NetcRuntime
import NetcSpec
import Testing
@testable import NetcTrain

/// Data, labels and weights are checked where they enter, with the whole message asserted:
/// before these checks, each case below trained or ran with a wrong result, or trapped.
@Suite struct InputValidationTests {
    static func graph(_ spec: String) throws -> Graph {
        try #require(Compiler.compile(source: spec, file: "tiny.yaml").graph)
    }

    static func spec(classes: Int = 10, head: String = "[global_avgpool, flatten, {linear: {out: $classes}}]") -> String {
        TrainerTests.spec.replacingOccurrences(of: "classes: 10", with: "classes: \(classes)")
            .replacingOccurrences(of: "head: [global_avgpool, flatten, {linear: {out: $classes}}]", with: "head: \(head)")
    }

    func train(_ spec: String, data: String, options: (inout TrainingOptions) -> Void = { _ in }) throws {
        let dir = try makeTempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var o = TrainerTests.options(data, epochs: 1)
        options(&o)
        let t = try Trainer(graph: try Self.graph(spec), specText: spec, options: o, runDirectory: dir)
        t.progressEnabled = false
        _ = try t.run()
    }

    @Test func fewerClassesThanLabelsIsRefusedBeforeTraining() throws {
        let data = try makeTempDir()
        defer { try? FileManager.default.removeItem(atPath: data) }
        try TrainerTests.writeDataset(data)
        let error = #expect(throws: TrainingError.self) { try train(Self.spec(classes: 5), data: data) }
        #expect(error?.description == """
            tiny scores 5 classes, but the training set in \(data) has labels up to 9
            help: set 'classes: 10' in the spec, so that the head's last layer outputs 10 scores
            """)
    }

    @Test func aNetworkWithoutClassifierIsRefused() throws {
        let error = #expect(throws: TrainingError.self) { try train(Self.spec(head: "[]"), data: "/nonexistent") }
        #expect(error?.description == """
            the network's output is a feature map (8x4x4), but training needs a vector of class logits, [classes]
            help: end the head with 'global_avgpool, flatten, {linear: {out: $classes}}'
            """)
    }

    @Test func anEmptyTrainingSetIsRefused() throws {
        let data = try makeTempDir()
        defer { try? FileManager.default.removeItem(atPath: data) }
        for split in ["train", "t10k"] {
            try writeBytes(IDX.encode(dims: [0, 8, 8], bytes: []), "\(data)/\(split)-images-idx3-ubyte")
            try writeBytes(IDX.encode(dims: [0], bytes: []), "\(data)/\(split)-labels-idx1-ubyte")
        }
        let error = #expect(throws: TrainingError.self) { try train(Self.spec(), data: data) }
        #expect(error?.description == """
            the training set in \(data) has no images
            help: give --data a directory that holds images: train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz, t10k-images-idx3-ubyte.gz and t10k-labels-idx1-ubyte.gz (or the same without .gz)
            """)
    }

    @Test func outOfRangeOptionsAreRefusedByTheTrainer() throws {
        let error = #expect(throws: TrainingError.self) {
            try train(Self.spec(), data: "/nonexistent") { $0.seed = -1; $0.momentum = 1; $0.limit = 0; $0.schedule = .step(every: 0, gamma: -1) }
        }
        #expect(error?.description == """
            the training recipe is out of range: 'momentum' must be at least 0 and below 1, got 1.0; 'seed' must be at least 0, got -1; 'limit' must be at least 1, got 0; 'schedule' step needs 'every' of at least 1 and a positive 'gamma', got every 0, gamma -1.0
            """)
    }

    @Test func stepCountsBelowOneAreRefusedByTheTrainer() throws {
        let error = #expect(throws: TrainingError.self) { try train(Self.spec(), data: "/nonexistent") { $0.logEvery = 0; $0.checkpointEvery = -1 } }
        #expect(error?.description == """
            the training recipe is out of range: 'checkpoint_every' must be at least 1, got -1; 'log_every' must be at least 1, got 0
            """)
    }

    @Test func labelsMustBeWholeClassNumbers() throws {
        let error = #expect(throws: TrainingError.self) { try ClassLabels.indices([0, .nan, 1e30, 1.5, -1, 10, 9], classes: 10, source: "y.npy") }
        #expect(error?.description == """
            y.npy: labels must be class indices, whole numbers from 0 to 9; found nan at index 1, 1e+30 at index 2, 1.5 at index 3, -1.0 at index 4, 10.0 at index 5
            help: store each label as its class number (np.save(path, labels.astype(np.float32)))
            """)
        #expect(try ClassLabels.indices([0, 9, 3], classes: 10, source: "y.npy") == [0, 9, 3])
    }

    @Test func anEmptyInputBatchIsRefused() {
        let empty = #expect(throws: TrainingError.self) { try InputBatch(NPYArray(shape: [0, 1, 28, 28], data: []), source: "x.npy") }
        #expect(empty?.description == """
            x.npy holds no images: its shape [0, 1, 28, 28] has a zero
            help: save at least one image of at least 1x1 pixel
            """)
        let flat = #expect(throws: TrainingError.self) { try InputBatch(NPYArray(shape: [2, 4], data: Array(repeating: 0, count: 8)), source: "x.npy") }
        #expect(flat?.description == """
            x.npy has shape [2, 4]; a batch of images is [N, C, H, W]
            help: save the images as a 4-d float32 array, e.g. x.reshape(-1, 1, 28, 28)
            """)
    }

    /// A size from a flag that the spec cannot take is blamed on the flag; the spec's lines are notes.
    @Test func aSizeTheSpecCannotTakeIsBlamedOnTheFlag() {
        let c = Compiler.compile(source: TrainerTests.spec, file: "tiny.yaml", input: .map(1, 100_000, 100_000))
        #expect(c.succeeded == false)
        let request = InputSizeRequest.square(100_000, from: "--resize 100000", flag: "--resize")
        let text = SpecCompilationError(c, network: "tiny", request: request, declared: .map(1, 8, 8)).description
        // The first lines are this check's; the notes below are the front end's own wording.
        #expect(text.hasPrefix("""
            error: tiny cannot run on 100000x100000 images, the size from --resize 100000
            help: use a size the network's layers can take, such as its declared 8x8 (--resize 8)
            tiny.yaml:7:13: note: the layer is too large
            """), "\(text)")
        #expect(text.components(separatedBy: "error:").count == 2, "one error, the rest notes: \(text)")
    }

    @Test func aDataFileIsNotMistakenForAMissingDataset() throws {
        let dir = try makeTempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try writeBytes(Array("netc: 1".utf8), "\(dir)/tiny.yaml")
        let error = #expect(throws: TrainingError.self) { try IDXDataset.load(directory: "\(dir)/tiny.yaml", split: .train) }
        #expect(error?.description == """
            \(dir)/tiny.yaml is a file, not a directory of IDX files
            help: give the directory that holds train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz, t10k-images-idx3-ubyte.gz and t10k-labels-idx1-ubyte.gz (or the same without .gz)
            """)
    }

    /// The second epoch once shuffled with seed + 1, which wrapped past Int.max and trapped.
    @Test func theLargestSeedTrainsTwoEpochs() throws {
        let data = try makeTempDir()
        defer { try? FileManager.default.removeItem(atPath: data) }
        try TrainerTests.writeDataset(data)
        #expect(throws: Never.self) { try train(Self.spec(), data: data) { $0.seed = .max; $0.epochs = 2; $0.limit = 16 } }
    }

    @Test func moreClassesThanLabelsIsAWarning() throws {
        let dataset = try IDXDataset(images: [UInt8](repeating: 0, count: 3 * 64), labels: [0, 9, 4], height: 8, width: 8)
        #expect(ClassLabels.unusedClasses(dataset.imageSet, graph: try Self.graph(Self.spec(classes: 12)), source: "d") == """
            tiny scores 12 classes, but the labels of d go up to 9: classes 10...11 are never the answer (is 'classes' meant for another dataset?)
            """)
        #expect(ClassLabels.unusedClasses(dataset.imageSet, graph: try Self.graph(Self.spec(classes: 10)), source: "d") == nil)
    }
}
