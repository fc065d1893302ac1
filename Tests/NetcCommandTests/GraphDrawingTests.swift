import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import NetcIR
import NetcSpec
import Testing
@testable import netc

/// `netc graph`: the DOT text netc writes, and Graphviz's rendering of it.
struct GraphDrawingTests {
    static let spec = """
        netc: 1
        name: tiny
        input: {channels: 1, size: 8}
        classes: 3
        stem: [{conv: {out: 4, kernel: 3, pad: 1}}]
        stages: [{block: residual, depth: 2, channels: 6, stride: 2}]
        head: [global_avgpool, flatten, {linear: {out: $classes}}]
        """

    static func graph() throws -> Graph { try #require(Compiler.compile(source: spec, file: "tiny.yaml").graph) }

    /// At depth 2 each block is one box with its parameters, and edges carry the shapes between boxes.
    @Test func blocksCollapseAtDepthTwo() throws {
        #expect(try Self.graph().dot(depth: 2) == """
            digraph "tiny" {
              rankdir=TB;
              node [shape=box, style="rounded,filled", fillcolor="#ffffff", fontname="Helvetica", fontsize=10];
              edge [fontname="Helvetica", fontsize=9, color="#555555"];
              n0 [label="input\\n1x8x8", shape=plaintext, style=""];
              subgraph cluster_0 {
                label="stem"; labeljust=l; style="rounded"; color="#999999"; fontname="Helvetica"; fontsize=10;
                n1 [label="conv1\\nConv2d 3x3\\n40 params", fillcolor="#d6e6f5"];
              }
              subgraph cluster_1 {
                label="stages.0 (stage)"; labeljust=l; style="rounded"; color="#999999"; fontname="Helvetica"; fontsize=10;
                m2 [label="stages.0.0\\nresidual\\n606 params", fillcolor="#e8e8e8"];
                m4 [label="stages.0.1\\nresidual\\n684 params", fillcolor="#e8e8e8"];
              }
              subgraph cluster_5 {
                label="head"; labeljust=l; style="rounded"; color="#999999"; fontname="Helvetica"; fontsize=10;
                n17 [label="avgpool1\\nAdaptiveAvgPool2d"];
                n18 [label="flatten1\\nFlatten"];
                n19 [label="fc1\\nLinear\\n21 params", fillcolor="#d6e6f5"];
              }
              output [label="output\\n3", shape=plaintext, style=""];
              n0 -> n1 [label="1x8x8"];
              n1 -> m2 [label="4x8x8"];
              m2 -> m4 [label="6x4x4"];
              m4 -> n17 [label="6x4x4"];
              n17 -> n18 [label="6x1x1"];
              n18 -> n19 [label="6"];
              n19 -> output [label="3"];
            }

            """)
    }

    /// Every layer drawn: the shortcut's projection is a cluster of its own, and exactly the two
    /// skip paths into the adds (the projection, and the second block's identity) are dashed.
    @Test func shortcutsAreVisible() throws {
        let dot = try Self.graph().dot()
        #expect(dot.contains("label=\"stages.0.0.shortcut (shortcut)\""))
        let dashed = dot.split(separator: "\n").filter { $0.contains("style=dashed") }
        #expect(dashed.map { String($0.split(separator: "[")[0]).trimmingCharacters(in: .whitespaces) }
                == ["n7 -> n8", "n9 -> n15"], "\(dashed)")
    }

    /// The SVG Graphviz renders is XML with an <svg> root, written where -o says.
    @Test func rendersSVGWithGraphviz() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("netc-graph-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try Self.spec.write(toFile: "\(dir)/tiny.yaml", atomically: true, encoding: .utf8)
        var command = try GraphCommand.parse(["\(dir)/tiny.yaml", "-o", "\(dir)/tiny.svg"])
        try command.run()
        let svg = try Data(contentsOf: URL(fileURLWithPath: "\(dir)/tiny.svg"))
        final class Root: NSObject, XMLParserDelegate {
            var name: String?
            func parser(_ p: XMLParser, didStartElement e: String, namespaceURI: String?, qualifiedName: String?, attributes: [String: String] = [:]) {
                if name == nil { name = e }
            }
        }
        let parser = XMLParser(data: svg), root = Root()
        parser.delegate = root
        #expect(parser.parse(), "\(parser.parserError.map { "\($0)" } ?? "")")
        #expect(root.name == "svg")
        #expect(String(decoding: svg, as: UTF8.self).contains("stages.0.0.shortcut (shortcut)"))
    }

    @Test func anOutputWithoutADrawingFormatIsRefused() {
        #expect(throws: (any Error).self) { try GraphCommand.parse(["-o", "net.txt"]) }
    }
}
