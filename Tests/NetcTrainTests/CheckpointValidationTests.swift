import Foundation
import NetcIR
import NetcRuntime
import NetcSpec
import Testing
@testable import NetcTrain

/// Weights are refused, with every reason at once, when they are not the spec's: an unknown
/// checkpoint format, tensors the spec does not use (they used to be ignored in silence), and a
/// checkpoint whose own spec describes another network.
@Suite struct CheckpointValidationTests {
    /// A checkpoint of TrainerTests' tiny network in a fresh directory.
    func checkpoint() throws -> (dir: String, path: String, store: ParameterStore) {
        let dir = try makeTempDir()
        let g = try TrainerTests.graph()
        let store = ParameterStore(graph: g)
        store.initialize(.xavier, seed: 1, graph: g)
        let path = "\(dir)/c.safetensors"
        try Checkpoint.save(to: path, store: store, optimizer: nil, spec: TrainerTests.spec, options: TrainingOptions(), state: TrainingState())
        return (dir, path, store)
    }

    @Test func anUnknownFormatIsRefused() throws {
        let (dir, path, _) = try checkpoint()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var file = try SafetensorsFile.read(path)
        file.metadata["format"] = "netc-checkpoint-9"
        try file.write(to: path)
        let error = #expect(throws: TrainingError.self) { try Checkpoint.read(path) }
        #expect(error?.description == """
            \(path) is a 'netc-checkpoint-9' checkpoint; this netc reads 'netc-checkpoint-1'
            help: load it with the netc that wrote it, or train again
            """)
    }

    @Test func unusedMissingAndMisshapenTensorsAreListedTogether() throws {
        let (dir, path, _) = try checkpoint()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var file = try SafetensorsFile.read(path)
        file.tensors["extra.weight"] = try SafeTensor([Float(1)], shape: [1])
        file.tensors["head.fc2.bias"] = try SafeTensor([Float(1)], shape: [1])
        file.tensors["stem.conv1.weight"] = nil
        file.tensors["head.fc1.bias"] = try SafeTensor([Float(1)], shape: [1])
        try file.write(to: path)
        let contents = try Checkpoint.read(path)
        let store = ParameterStore(graph: try TrainerTests.graph())
        let error = #expect(throws: TrainingError.self) { try Checkpoint.load(contents, into: store, source: path) }
        #expect(error?.description == """
            \(path) does not hold this spec's weights: 1 tensor(s) the spec needs are missing: stem.conv1.weight; \
            1 tensor(s) have another shape: 'head.fc1.bias' is [1], the spec needs [10]; \
            2 tensor(s) are not used by the spec: extra.weight, head.fc2.bias
            help: load the weights with the spec they were trained with
            """)
    }

    @Test func aSpecThatDiffersFromTheCheckpointsIsRefused() throws {
        let (dir, path, _) = try checkpoint()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        // Same parameters, another network: the stem's ReLU is gone.
        let other = TrainerTests.spec.replacingOccurrences(of: "batchnorm, relu]", with: "batchnorm]")
        let error = #expect(throws: TrainingError.self) {
            try Evaluation(compile: { Compiler.compile(source: other, file: "other.yaml", input: $0) }, weights: path)
        }
        #expect(error?.description == """
            other.yaml and the spec saved in \(path) describe different networks: layer 3 is 'stages.0.0.conv1' in other.yaml, 'stem.relu1' in the checkpoint's
            help: give the spec the weights were trained with (the checkpoint's own is in its metadata, 'spec')
            """)
    }

    @Test func aSpecThatDiffersOnlyInCommentsIsUsedWithAWarning() throws {
        let (dir, path, store) = try checkpoint()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let commented = "# the same network\n" + TrainerTests.spec
        let e = try Evaluation(compile: { Compiler.compile(source: commented, file: "same.yaml", input: $0) }, weights: path)
        #expect(e.warnings == ["same.yaml differs from the spec saved in \(path) only in what does not change the network; using same.yaml"])
        #expect(e.store.snapshot() == store.snapshot())
    }

    /// An edited recipe that would trap in the training loop (`step % logEvery`) is refused when read.
    @Test func anOutOfRangeRecipeIsRefusedWhenRead() throws {
        let (dir, path, store) = try checkpoint()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var noLog = TrainingOptions(), noCheckpoints = TrainingOptions()
        (noLog.logEvery, noCheckpoints.checkpointEvery) = (0, 0)
        for (options, problem) in [(noLog, "'log_every' must be at least 1, got 0"),
                                   (noCheckpoints, "'checkpoint_every' must be at least 1, got 0")] {
            try Checkpoint.save(to: path, store: store, optimizer: nil, spec: TrainerTests.spec, options: options, state: TrainingState())
            let error = #expect(throws: TrainingError.self) { try Checkpoint.read(path) }
            #expect(error?.description == """
                \(path): __metadata__ 'options' is out of range: \(problem)
                help: the file was edited or damaged
                """)
        }
    }

    @Test func anUnreadableRecipeOrStepIsRefusedNotDefaulted() throws {
        let (dir, path, _) = try checkpoint()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var file = try SafetensorsFile.read(path)
        file.metadata["step"] = "-3"
        try file.write(to: path)
        let step = #expect(throws: TrainingError.self) { try Checkpoint.read(path) }
        #expect(step?.description == """
            \(path): __metadata__ 'step' is '-3', not a whole number
            help: the file was edited or damaged
            """)
        file.metadata["options"] = "{\"recipe\": 1}"
        try file.write(to: path)
        let recipe = #expect(throws: TrainingError.self) { try Checkpoint.read(path) }
        #expect(recipe?.description.hasPrefix("\(path): cannot read the training recipe in __metadata__ 'options': 'recipe': ") == true)
    }
}
