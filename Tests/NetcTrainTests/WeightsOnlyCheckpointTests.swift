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
        try Checkpoint.save(to: path, store: store, spec: spec, options: TrainingOptions(), state: TrainingState())
        var file = try SafetensorsFile.read(path)
        file.metadata = ["spec": spec]
        try file.write(to: path)
        let e = try Evaluation(compile: { Compiler.compile(source: spec, file: "tiny.yaml", input: $0) }, weights: path)
        #expect(e.options.resize == 12)
        #expect(e.graph.inputShape == .map(1, 12, 12))
    }
}
