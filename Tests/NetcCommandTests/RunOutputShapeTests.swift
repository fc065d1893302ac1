import Foundation
import NetcRuntime
import NetcSpec
import NetcTrain
import Testing
@testable import netc

/// `netc run` on a network that ends on a feature map wrote its NCHW values as [N, C*H*W],
/// a shape PyTorch's model does not give; it now writes [N, C, H, W].
struct RunOutputShapeTests {
    @Test func aMapOutputKeepsItsShape() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("netc-run-shape-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let spec = """
            netc: 1
            name: map
            input: {channels: 2, size: 4}
            stages: [{block: residual, depth: 1, channels: 3, stride: 2}]
            """
        try spec.write(toFile: "\(dir)/map.yaml", atomically: true, encoding: .utf8)
        let g = try #require(Compiler.compile(source: spec, file: "map.yaml").graph)
        let store = ParameterStore(graph: g)
        store.initialize(.xavier, seed: 1, graph: g)
        try Checkpoint.save(to: "\(dir)/w.safetensors", store: store, optimizer: nil, spec: spec, options: TrainingOptions(), state: TrainingState())
        try NPY.write(NPYArray(shape: [5, 2, 4, 4], data: (0..<160).map { Float($0) / 160 }), to: "\(dir)/x.npy")
        var run = try RunCommand.parse(["\(dir)/map.yaml", "--weights", "\(dir)/w.safetensors", "--input", "\(dir)/x.npy", "--output", "\(dir)/y.npy"])
        try run.run()
        #expect(try NPY.read("\(dir)/y.npy").shape == [5, 3, 2, 2])
    }
}
