import Foundation
import NetcIR
import NetcSpec
import NetcZoo
import Testing

/// Every architecture in architectures/ compiles cleanly and keeps the figures pinned in
/// Golden/architectures.json (params, MACs, activations), as pycls pins its model complexity.
/// Re-record with `NETC_RECORD=1 swift test --filter ZooTests`.
struct ZooTests {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent()
    static let goldenURL = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("Golden/architectures.json")

    struct Figures: Codable, Equatable {
        var parameters: Int
        var macs: Int
        var torchinfoMultAdds: Int
        var activations: Int
        var outputShape: [Int]
    }

    static func figures(_ name: String) -> Figures? {
        guard let text = Zoo.spec(named: name) else { return nil }
        let c = Compiler.compile(source: text, file: "\(name).yaml")
        guard let g = c.graph else { return nil }
        let cost = g.cost
        return Figures(parameters: cost.parameters, macs: cost.macs, torchinfoMultAdds: cost.torchinfoMACs,
                       activations: cost.activations, outputShape: g.outputShape.dims)
    }

    @Test func everyFileInArchitecturesIsBundled() throws {
        let root = Self.repository.appendingPathComponent("architectures")
        let files = FileManager.default.enumerator(atPath: root.path)!.compactMap { $0 as? String }
            .filter { $0.hasSuffix(".yaml") }.map { String($0.dropLast(5)) }.sorted()
        #expect(files == Zoo.names)
        for name in files {
            let onDisk = try String(contentsOf: root.appendingPathComponent("\(name).yaml"), encoding: .utf8)
            #expect(onDisk == Zoo.spec(named: name), "bundled copy of \(name) differs from the file")
        }
    }

    @Test(arguments: Zoo.names)
    func compilesWithoutDiagnostics(name: String) throws {
        let text = try #require(Zoo.spec(named: name))
        let c = Compiler.compile(source: text, file: "\(name).yaml")
        #expect(c.diagnostics.isEmpty, "\(c.renderDiagnostics())")
        #expect(c.succeeded)
        #expect(text.hasPrefix("# "), "each architecture file starts with a comment citing its paper")
    }

    @Test func figuresMatchTheGoldenFile() throws {
        var current: [String: Figures] = [:]
        for name in Zoo.names { current[name] = Self.figures(name) }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        if ProcessInfo.processInfo.environment["NETC_RECORD"] != nil {
            try encoder.encode(current).write(to: Self.goldenURL)
        }
        let golden = try JSONDecoder().decode([String: Figures].self, from: Data(contentsOf: Self.goldenURL))
        for name in Set(golden.keys).union(current.keys).sorted() where golden[name] != current[name] {
            Issue.record("\(name): golden \(String(describing: golden[name])), now \(String(describing: current[name]))")
        }
    }

    /// The book's LeNet for Fashion-MNIST (d2l 7.6), as torchinfo counts it at 1x1x28x28.
    @Test func lenetMatchesTheBook() throws {
        let f = try #require(Self.figures("lenet"))
        #expect(f.parameters == 61_706 && f.torchinfoMultAdds == 423_038 && f.outputShape == [10])
    }

    /// The book's GoogLeNet for Fashion-MNIST at 96x96 (d2l 8.4): its parameters and its
    /// torchinfo mult-adds at 1x1x96x96, beside ResNet-18's for the chapter's first exercise.
    @Test func googlenetMatchesTheBook() throws {
        let f = try #require(Self.figures("googlenet"))
        #expect(f.parameters == 5_977_530 && f.outputShape == [10])
        #expect(f.torchinfoMultAdds == 276_658_874)
    }

    /// torchvision's parameter counts and published GFLOPS (conv and linear MACs) at 1x3x224x224.
    @Test(arguments: [
        ("imagenet/resnet18", 11_689_512, 1.81), ("imagenet/resnet34", 21_797_672, 3.66),
        ("imagenet/resnet50", 25_557_032, 4.09), ("imagenet/resnet101", 44_549_160, 7.80),
        ("imagenet/resnet152", 60_192_808, 11.51), ("imagenet/resnext50_32x4d", 25_028_904, 4.23),
        ("imagenet/wide_resnet50_2", 68_883_240, 11.40), ("imagenet/vgg11", 132_863_336, 7.61),
        ("imagenet/alexnet", 61_100_840, 0.71), ("imagenet/regnet_x_400mf", 5_495_976, 0.41),
        ("imagenet/regnet_y_400mf", 4_344_144, 0.40), ("imagenet/mobilenet_v2", 3_504_872, 0.30),
    ])
    func matchesTorchvision(name: String, parameters: Int, gflops: Double) throws {
        let f = try #require(Self.figures(name))
        #expect(f.parameters == parameters)
        #expect(String(format: "%.2f", Double(f.macs) / 1e9) == String(format: "%.2f", gflops))
        #expect(f.outputShape == [1000])
    }
}

/// docs/spec.md documents every key the schema knows, and the examples compile cleanly.
struct DocumentationTests {
    @Test func everySchemaKeyIsDocumented() throws {
        let doc = try String(contentsOf: ZooTests.repository.appendingPathComponent("docs/spec.md"), encoding: .utf8)
        let keys = [Schema.spec, Schema.input, Schema.defaults, Schema.stage, Schema.block, Schema.parameter,
                    Schema.shortcut, Schema.train, Schema.sgd, Schema.adamw, Schema.augment, Schema.normalize, Schema.stepSchedule, Schema.commonLayer]
            .flatMap { $0.map(\.name) }
            + Schema.layers.flatMap { [$0.key] + $0.value.keys.map(\.name) }
            + Schema.stageLists.flatMap { [$0.plural, $0.singular] }
        for key in Set(keys).sorted() {
            #expect(doc.contains("`\(key)`"), "docs/spec.md does not document '\(key)'")
        }
    }

    @Test func examplesCompile() throws {
        let dir = ZooTests.repository.appendingPathComponent("Examples")
        let specs = try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { $0.hasSuffix(".yaml") }
        #expect(!specs.isEmpty)
        for name in specs {
            let c = Compiler.compile(path: dir.appendingPathComponent(name).path)
            #expect(c.diagnostics.isEmpty && c.succeeded, "\(c.renderDiagnostics())")
        }
    }
}
