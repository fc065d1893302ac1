import Foundation
import NetcIR
import NetcRuntime
import NetcSpec
import Testing
@testable import NetcTrain

/// A checkpoint with weights and a spec but no recipe (as scripts/compare_pytorch.py writes from
/// PyTorch) was evaluated at d2l's default 96x96, not at the size the spec's own `train:` asks for:
/// `netc eval` of a `resize: 5` network on 96x96 images, a silently different accuracy.
@Suite struct WeightsOnlyCheckpointTests {
    @Test func evaluationUsesTheSpecsRecipeWhenTheCheckpointHasNone() throws {
        let dir = try makeTempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let spec = TrainerTests.spec + "\ntrain: {resize: 12}\n"
        let g = try #require(Compiler.compile(source: spec, file: "tiny.yaml").graph)
        let store = ParameterStore(graph: g)
        store.initialize(.xavier, seed: 1, graph: g)
        let path = "\(dir)/w.safetensors"
        try Checkpoint.save(to: path, store: store, optimizer: nil, spec: spec, options: TrainingOptions(), state: TrainingState())
        var file = try SafetensorsFile.read(path)
        file.metadata = ["spec": spec]
        try file.write(to: path)
        let e = try Evaluation(compile: { Compiler.compile(source: spec, file: "tiny.yaml", input: $0) }, weights: path)
        #expect(e.options.resize == 12)
        #expect(e.graph.inputShape == .map(1, 12, 12))
    }

    /// Images of another size than the weights were made for, on a network whose linear layer
    /// reads a flattened map: the weights were blamed ("'head.fc1.weight' is [3, 36], the spec
    /// needs [3, 64]"), not the images.
    @Test func imagesOfAnotherSizeAreBlamedWhenAFlattenedMapFixesTheWeights() throws {
        let dir = try makeTempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let spec = """
            netc: 1
            name: flat
            input: {channels: 1, size: 6}
            classes: 3
            stem: [{conv: {out: 1, kernel: 3, pad: 1}}]
            stages: [{block: residual, depth: 1, channels: 1}]
            head: [flatten, {linear: {out: $classes}}]
            """
        let g = try #require(Compiler.compile(source: spec, file: "flat.yaml").graph)
        let store = ParameterStore(graph: g)
        store.initialize(.xavier, seed: 1, graph: g)
        let path = "\(dir)/w.safetensors"
        try Checkpoint.save(to: path, store: store, optimizer: nil, spec: spec, options: TrainingOptions(), state: TrainingState())
        var file = try SafetensorsFile.read(path)
        file.metadata = ["spec": spec]
        try file.write(to: path)
        let batch = try InputBatch(NPYArray(shape: [2, 1, 8, 8], data: [Float](repeating: 0, count: 128)), source: "x.npy")
        let e = #expect(throws: TrainingError.self) {
            _ = try Evaluation(compile: { Compiler.compile(source: spec, file: "flat.yaml", input: $0) }, weights: path, input: batch)
        }
        #expect(e?.description == """
            \(path) holds flat's weights for 6x6 images; its parameters' shapes depend on the image size (a linear layer reads a flattened map), so they do not fit 8x8 images, the size from x.npy's images
            help: resize the images to 6x6
            """)
    }

    /// A checkpoint whose weights hold NaN loaded in silence: `netc eval` reported the accuracy
    /// of argmax over NaN logits.
    @Test func nonFiniteWeightsAndNegativeVariancesAreRefused() throws {
        let dir = try makeTempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let g = try TrainerTests.graph()
        let store = ParameterStore(graph: g)
        store.initialize(.xavier, seed: 1, graph: g)
        let path = "\(dir)/w.safetensors"
        try Checkpoint.save(to: path, store: store, optimizer: nil, spec: TrainerTests.spec, options: TrainingOptions(), state: TrainingState())
        var file = try SafetensorsFile.read(path)
        var bias = try #require(file.tensors["head.fc1.bias"]).floats()
        bias[3] = .nan
        file.tensors["head.fc1.bias"] = try SafeTensor(bias, shape: [bias.count])
        try file.write(to: path)
        let e = #expect(throws: TrainingError.self) {
            _ = try Evaluation(compile: { Compiler.compile(source: TrainerTests.spec, file: "tiny.yaml", input: $0) }, weights: path)
        }
        #expect(e?.description == """
            \(path): tensor 'head.fc1.bias' holds nan at index 3
            help: the weights diverged or the file was damaged; use an earlier checkpoint
            """)

        // A negative running variance gave NaN logits in eval mode, exit 0.
        bias[3] = 0
        file.tensors["head.fc1.bias"] = try SafeTensor(bias, shape: [bias.count])
        var variance = try #require(file.tensors["stem.bn1.running_var"]).floats()
        variance[1] = -0.5
        file.tensors["stem.bn1.running_var"] = try SafeTensor(variance, shape: [variance.count])
        try file.write(to: path)
        let v = #expect(throws: TrainingError.self) {
            _ = try Evaluation(compile: { Compiler.compile(source: TrainerTests.spec, file: "tiny.yaml", input: $0) }, weights: path)
        }
        #expect(v?.description == """
            \(path): tensor 'stem.bn1.running_var' holds the negative variance -0.5 at index 1
            help: a running variance is 0 or more; the file was made wrongly or damaged
            """)
    }

    /// Momentum buffers in a file without netc's step count (a PyTorch optimizer's state) were
    /// ignored: `netc step --momentum 0.9` started them afresh, 72% away from PyTorch's step.
    /// With the count, a trainable tensor without its buffer is refused rather than taken as 0.
    /// Loading the weights alone (`netc eval`, `netc run`) leaves the optimizer's state unread.
    @Test func momentumBuffersWithoutTheirCountAreUsedAndMissingOnesAreRefused() throws {
        let dir = try makeTempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let g = try TrainerTests.graph()
        let store = ParameterStore(graph: g)
        store.initialize(.xavier, seed: 1, graph: g)
        let path = "\(dir)/w.safetensors"
        try Checkpoint.save(to: path, store: store, optimizer: nil, spec: TrainerTests.spec, options: TrainingOptions(), state: TrainingState())
        var file = try SafetensorsFile.read(path)
        file.metadata = ["spec": TrainerTests.spec]
        for e in store.entries where e.role == .trainable {
            file.tensors["optimizer.momentum_buffer." + e.name] = try SafeTensor([Float](repeating: 0.25, count: e.shape.reduce(1, *)), shape: e.shape)
        }
        try file.write(to: path)
        #expect(try Checkpoint.read(path).optimizerSteps == 1)

        file.metadata["optimizer_steps"] = "3"
        file.tensors["optimizer.momentum_buffer.head.fc1.bias"] = nil
        try file.write(to: path)
        let batch = try InputBatch(NPYArray(shape: [2, 1, 8, 8], data: (0..<128).map { Float($0 % 7) / 7 }), source: "x.npy")
        let evaluation = try Evaluation(compile: { Compiler.compile(source: TrainerTests.spec, file: "tiny.yaml", input: $0) },
                                        weights: path, input: batch)
        var recipe = TrainSpec()
        recipe.momentum = 0.9
        let e = #expect(throws: TrainingError.self) {
            _ = try evaluation.step(batch, labels: NPYArray(shape: [2], data: [1, 3]), labelsSource: "y.npy", recipe: recipe,
                                    saveTo: "\(dir)/stepped.safetensors")
        }
        #expect(e?.description == """
            \(path) does not hold this spec's weights: 1 tensor(s) the spec needs are missing: optimizer.momentum_buffer.head.fc1.bias
            help: load the weights with the spec they were trained with
            """)
    }

    /// `netc step --lr 3e38` wrote infinite weights and exited 0; now nothing is written.
    @Test func aStepThatOverflowsTheWeightsWritesNothing() throws {
        let dir = try makeTempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let g = try TrainerTests.graph()
        let store = ParameterStore(graph: g)
        store.initialize(.xavier, seed: 1, graph: g)
        let path = "\(dir)/w.safetensors"
        try Checkpoint.save(to: path, store: store, optimizer: nil, spec: TrainerTests.spec, options: TrainingOptions(), state: TrainingState())
        let batch = try InputBatch(NPYArray(shape: [2, 1, 8, 8], data: (0..<128).map { Float($0 % 7) / 7 }), source: "x.npy")
        let e = try Evaluation(compile: { Compiler.compile(source: TrainerTests.spec, file: "tiny.yaml", input: $0) }, weights: path, input: batch)
        let out = "\(dir)/stepped.safetensors"
        let error = #expect(throws: TrainingError.self) {
            var recipe = TrainSpec()
            (recipe.lr, recipe.weightDecay) = (3e38, 1e30)
            _ = try e.step(batch, labels: NPYArray(shape: [2], data: [1, 3]), labelsSource: "y.npy", recipe: recipe, saveTo: out)
        }
        #expect(error?.message.hasPrefix("the step made 'stem.conv1.weight' non-finite (") == true, "\(error?.message ?? "")")
        #expect(error?.help == "lower --lr (3e+38) or --weight-decay")
        #expect(!FileManager.default.fileExists(atPath: out))
    }
}
