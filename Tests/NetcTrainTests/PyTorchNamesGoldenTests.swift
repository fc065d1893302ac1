import Foundation
import Testing
import NetcRuntime
import NetcSpec
import NetcZoo
@testable import NetcTrain

/// Every bundled spec with `pytorch_names` keeps the PyTorch names it exports, tensor by tensor in
/// netc's order, as pinned in Golden/pytorch-names.json: however the names are written (spec rules,
/// template names), the state_dicts netc reads and writes stay the ones PyTorch's models have.
/// Re-record with `NETC_RECORD=1 swift test --filter PyTorchNamesGoldenTests`.
struct PyTorchNamesGoldenTests {
    static let goldenURL = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("Golden/pytorch-names.json")

    /// The names `netc export --format pytorch` gives the spec's tensors, in the parameter store's
    /// order; nil for a spec without `pytorch_names`.
    static func exportedNames(_ name: String) throws -> [String]? {
        let c = Compiler.compile(source: try #require(Zoo.spec(named: name)), file: "\(name).yaml")
        let g = try #require(c.graph, "\(c.renderDiagnostics())")
        guard let naming = c.pytorchNames else { return nil }
        let store = ParameterStore(graph: g)
        let netcNames = store.entries.flatMap { Checkpoint.TensorNames($0).all }
        guard case .success(let foreign) = naming.foreignNames(netcNames) else {
            Issue.record("\(name): two tensors share a PyTorch name")
            return nil
        }
        let names = netcNames.map { foreign[$0]! }
        // The same names as the file export writes.
        let exported = try Checkpoint.stateDict(store, naming: naming, batchesTracked: 0)
        #expect(Set(names) == Set(exported.tensors.keys), "\(name)")
        return names
    }

    @Test func everyBundledSpecKeepsItsPyTorchNames() throws {
        var current: [String: [String]] = [:]
        for name in Zoo.names {
            if let names = try Self.exportedNames(name) { current[name] = names }
        }
        if ProcessInfo.processInfo.environment["NETC_RECORD"] != nil {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
            try FileManager.default.createDirectory(at: Self.goldenURL.deletingLastPathComponent(), withIntermediateDirectories: true)
            try encoder.encode(current).write(to: Self.goldenURL)
        }
        let golden = try JSONDecoder().decode([String: [String]].self, from: Data(contentsOf: Self.goldenURL))
        #expect(golden.keys.sorted() == current.keys.sorted())
        for name in golden.keys.sorted() {
            guard let was = golden[name], let now = current[name] else { continue }
            // The first difference says more than two lists of a thousand names.
            if let i = zip(was, now).enumerated().first(where: { $0.element.0 != $0.element.1 })?.offset {
                Issue.record("\(name): tensor \(i) was '\(was[i])', is now '\(now[i])'")
            } else if was.count != now.count {
                Issue.record("\(name): \(was.count) names recorded, \(now.count) now")
            }
        }
    }
}
