import Foundation
import Testing
import NetcIR
import NetcRuntime
import NetcSpec
import NetcZoo
@testable import NetcTrain

/// `pytorch_names`: naming conventions as data, read and written.
struct PyTorchNamesTests {
    static func compiled(_ name: String) throws -> Compilation {
        Compiler.compile(source: try #require(Zoo.spec(named: name)), file: "\(name).yaml")
    }

    @Test func torchvisionsResnet50Names() throws {
        let naming = try #require(try Self.compiled("imagenet/resnet50").pytorchNames)
        #expect(naming.foreign("stem.conv1.weight") == "conv1.weight")
        #expect(naming.foreign("stages.0.0.conv3.weight") == "layer1.0.conv3.weight")
        #expect(naming.foreign("stages.2.0.conv4.weight") == "layer3.0.downsample.0.weight")
        #expect(naming.foreign("stages.3.0.bn4.num_batches_tracked") == "layer4.0.downsample.1.num_batches_tracked")
        #expect(naming.foreign("head.fc1.bias") == "fc.bias")
        // Every tensor gets a name of its own.
        let g = try #require(try Self.compiled("imagenet/resnet50").graph)
        let names = ParameterStore(graph: g).entries.map(\.name)
        guard case .success(let foreign) = naming.foreignNames(names) else { Issue.record("clash"); return }
        #expect(Set(foreign.values).count == names.count)
    }

    @Test func theD2LModelsNames() throws {
        let naming = try #require(try Self.compiled("resnet18").pytorchNames)
        #expect(naming.foreign("stem.bn1.running_var") == "0.1.running_var")
        #expect(naming.foreign("stages.1.0.conv3.weight") == "2.0.conv3.weight")
        #expect(naming.foreign("head.fc1.weight") == "5.2.weight")
    }

    @Test func twoTensorsWithOneNameAndMalformedRulesAreRefused() {
        let clash = try! #require(Compiler.compile(source: """
            name: t
            input: {channels: 1, size: 8}
            layers: [{conv: {out: 2, kernel: 3}}]
            pytorch_names: {"stages.{s}.{b}": "layer.{b}"}
            """, file: "t.yaml").pytorchNames)
        guard case .failure(let e) = clash.foreignNames(["stages.0.0.conv1.weight", "stages.1.0.conv1.weight"]) else {
            Issue.record("no clash reported"); return
        }
        #expect("\(e)" == "pytorch_names gives 'stages.0.0.conv1.weight' and 'stages.1.0.conv1.weight' the same name, 'layer.0.conv1.weight'")
        let c = Compiler.compile(source: """
            name: t
            input: {channels: 1, size: 8}
            layers: [{conv: {out: 2, kernel: 3}}]
            pytorch_names:
              "layers.{i}": "features.{j}"
              "layers.{i}.{i}": x
            """, file: "spec.yaml")
        #expect(c.renderDiagnostics() == """
            spec.yaml:5:17: error: '{j}' in 'features.{j}' is not a variable of 'layers.{i}' (plus or minus a number)
              5 |   "layers.{i}": "features.{j}"
                |                 ^~~~~~~~~~~~~~
            help: e.g. 'stages.{s}.{b}: layer{s+1}.{b}': netc's prefix, then PyTorch's, numbers written {s} and {s+1}
            spec.yaml:6:3: error: '{i}' in 'layers.{i}.{i}' is not a new variable such as '{s}'
              6 |   "layers.{i}.{i}": x
                |   ^~~~~~~~~~~~~~~~
            help: e.g. 'stages.{s}.{b}: layer{s+1}.{b}': netc's prefix, then PyTorch's, numbers written {s} and {s+1}

            """)
    }

    /// A plain state_dict under torchvision's names (no netc metadata) loads by name and shape;
    /// written back it has the same names; a wrong file lists every problem at once.
    @Test func aPlainStateDictLoadsByItsPyTorchNames() throws {
        let c = try Self.compiled("imagenet/resnet18")
        let g = try #require(c.graph), naming = try #require(c.pytorchNames)
        let store = ParameterStore(graph: g)
        store.initialize(.kaiming, seed: 4, graph: g)
        let dict = try Checkpoint.stateDict(store, naming: naming, batchesTracked: 3)
        #expect(dict.tensors["layer2.0.downsample.0.weight"]?.shape == [128, 64, 1, 1])
        #expect(dict.tensors["bn1.num_batches_tracked"] != nil && dict.metadata.isEmpty)
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("netc-names-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try dict.write(to: "\(dir)/tv.safetensors")
        let evaluation = try Evaluation(compile: { Compiler.compile(source: c.source, file: "resnet18.yaml", input: $0) }, weights: "\(dir)/tv.safetensors")
        #expect(Array(evaluation.store.value("stages.1.0.conv3.weight")) == Array(store.value("stages.1.0.conv3.weight")))

        var broken = dict
        broken.tensors["fc.weight"] = nil
        broken.tensors["extra.weight"] = try SafeTensor([1], shape: [1])
        try broken.write(to: "\(dir)/broken.safetensors")
        #expect {
            try Evaluation(compile: { Compiler.compile(source: c.source, file: "resnet18.yaml", input: $0) }, weights: "\(dir)/broken.safetensors")
        } throws: { error in
            "\(error)".contains("1 tensor(s) the spec needs are missing: head.fc1.weight") && "\(error)".contains("1 tensor(s) are not used by the spec: extra.weight")
        }
    }
}

/// `netc train --weights`: a run starts from a PyTorch state_dict (by the spec's pytorch_names)
/// instead of an initialisation; a file for another network is refused before any step.
@Test func aRunStartsFromPyTorchWeights() throws {
    let spec = """
        netc: 1
        name: tiny
        input: {channels: 1, size: 8}
        classes: 3
        layers: [{conv: {out: 4, kernel: 3, pad: 1}}, batchnorm, relu, global_avgpool, flatten, {linear: {out: $classes}}]
        pytorch_names: {layers.conv1: "0", layers.bn1: "1", layers.fc1: "5"}
        """
    let c = Compiler.compile(source: spec, file: "tiny.yaml")
    let g = try #require(c.graph)
    let source = ParameterStore(graph: g)
    source.initialize(.kaiming, seed: 9, graph: g)
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("netc-ft-\(UUID().uuidString)").path
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let dict = try Checkpoint.stateDict(source, naming: c.pytorchNames, batchesTracked: 0)
    #expect(Set(dict.tensors.keys).isSuperset(of: ["0.weight", "1.running_mean", "5.bias"]))
    try dict.write(to: "\(dir)/w.safetensors")
    let trainer = try Trainer(graph: g, specText: spec, options: TrainingOptions(), runDirectory: "\(dir)/run")
    #expect(try trainer.startFrom(weights: "\(dir)/w.safetensors", given: c) == nil)
    #expect(trainer.store.snapshot() == source.snapshot())

    var wrong = dict
    wrong.tensors["5.weight"] = try SafeTensor([Float](repeating: 0, count: 8), shape: [2, 4])
    try wrong.write(to: "\(dir)/wrong.safetensors")
    #expect { try trainer.startFrom(weights: "\(dir)/wrong.safetensors", given: c) } throws: { "\($0)".contains("'layers.fc1.weight' is [2, 4], the spec needs [3, 4]") }
}

/// Offsets that could overflow are refused, a number an offset takes below 0 matches nothing,
/// and a file holding one tensor under two names (netc's and PyTorch's) is refused, not guessed at.
@Test func namingEdgesAreRefusedOrHarmless() throws {
    let c = Compiler.compile(source: """
        name: t
        input: {channels: 1, size: 8}
        layers: [{conv: {out: 2, kernel: 3}}, flatten, {linear: {out: 3}}]
        pytorch_names:
          "layers.{i}": "x{i--9223372036854775808}"
          "a.{i}": "b{i+9223372036854775807}"
          "{i}.x": "y"
          layers.fc1: ""
        """, file: "spec.yaml")
    #expect(c.diagnostics.map(\.message) == [
        "'{i--9223372036854775808}' in 'x{i--9223372036854775808}' is not a variable of 'layers.{i}' (plus or minus a number)",
        "'{i+9223372036854775807}' in 'b{i+9223372036854775807}' is not a variable of 'a.{i}' (plus or minus a number)",
        "'{i}.x' starts with a number, which no netc name does: start it with stem, stages, head or layers",
        "'' is not a PyTorch name whose numbered parts are written '{s}' or '{s+1}'",
    ])
    let shifted = try #require(Compiler.compile(source: """
        name: t
        input: {channels: 1, size: 8}
        stages: [{block: residual, depth: 1, channels: 2}]
        pytorch_names: {"stages.{s}": "layer{s-1}"}
        """, file: "t.yaml").pytorchNames)
    #expect(shifted.foreign("stages.0.0.conv1.weight") == "stages.0.0.conv1.weight")

    let spec = """
        name: t
        input: {channels: 1, size: 8}
        layers: [{conv: {out: 2, kernel: 3}}, flatten, {linear: {out: 3}}]
        pytorch_names: {layers.conv1: "0"}
        """
    let compiled = Compiler.compile(source: spec, file: "t.yaml")
    let g = try #require(compiled.graph)
    let store = ParameterStore(graph: g)
    store.initialize(.xavier, seed: 1, graph: g)
    var twice = try Checkpoint.stateDict(store, naming: compiled.pytorchNames, batchesTracked: 0).tensors
    twice["layers.conv1.weight"] = twice["0.weight"]
    #expect { try Checkpoint.netcNames(twice, store: store, naming: compiled.pytorchNames!) } throws: {
        "\($0)".hasPrefix("the file holds both '0.weight' and 'layers.conv1.weight', which are both 'layers.conv1.weight'")
    }
}
