import NetcIR
import NetcSpec
import NetcZoo
import Testing

/// The default ResNet-18 against the figures torchinfo 1.8 prints for the chapter's PyTorch model.
struct SummaryTests {
    func defaultGraph(input: Shape? = nil) throws -> Graph {
        let text = try #require(Zoo.spec(named: Zoo.defaultName))
        return try #require(Compiler.compile(source: text, file: "resnet18.yaml", input: input).graph)
    }

    @Test func stageOutputsMatchD2L() throws {
        let summary = Summary(try defaultGraph(input: .map(1, 96, 96)), batch: 1, depth: 1)
        #expect(summary.rows.map(\.name) == ["stem", "stages.0", "stages.1", "stages.2", "stages.3", "head"])
        #expect(summary.rows.map(\.outputShape) == [
            [1, 64, 24, 24], [1, 64, 24, 24], [1, 128, 12, 12], [1, 256, 6, 6], [1, 512, 3, 3], [1, 10],
        ])
    }

    @Test func footerMatchesTorchinfo() throws {
        let text = Summary(try defaultGraph(), batch: 1).renderText()
        for line in ["Total params: 11,178,378", "Trainable params: 11,178,378", "Non-trainable params: 0",
                     "Total mult-adds (M): 319.12", "Input size (MB): 0.04", "Forward/backward pass size (MB): 7.04",
                     "Params size (MB): 44.71", "Estimated Total Size (MB): 51.79"] {
            #expect(text.contains(line + "\n"), "missing '\(line)'")
        }
    }

    @Test func batchScalesActivationsNotParameters() throws {
        let one = Summary(try defaultGraph(), batch: 1).totals
        let many = Summary(try defaultGraph(), batch: 8).totals
        #expect(many.parameters == one.parameters)
        #expect(many.torchinfoMultAdds == 8 * one.torchinfoMultAdds)
        #expect(many.forwardBackwardBytes == 8 * one.forwardBackwardBytes)
    }

    @Test func inputOverrideChangesShapes() throws {
        let g = try defaultGraph(input: .map(1, 224, 224))
        #expect(g.inputShape == .map(1, 224, 224))
        #expect(Summary(g, depth: 1).rows[4].outputShape == [1, 512, 7, 7])
    }

    @Test func depthControlsNesting() throws {
        let g = try defaultGraph()
        #expect(Summary(g, depth: 1).rows.allSatisfy { $0.depth == 1 })
        let blocks = Summary(g, depth: 2).rows.filter { $0.depth == 2 && $0.kind == "residual" }
        #expect(blocks.map(\.name) == (0..<4).flatMap { s in (0..<2).map { "stages.\(s).\($0)" } })
        let layers = Summary(g, depth: 3).rows.filter { $0.name.hasPrefix("stages.1.0.") }.map(\.name)
        #expect(layers == ["stages.1.0.conv1", "stages.1.0.bn1", "stages.1.0.relu1", "stages.1.0.conv2",
                           "stages.1.0.bn2", "stages.1.0.shortcut", "stages.1.0.relu2"])
        #expect(Summary(g, depth: 4).rows.contains { $0.name == "stages.1.0.conv3" && $0.depth == 4 })
    }

    /// pycls's `linear_cx` and `conv2d_cx` add each bias once per output feature or channel, and
    /// `pool2d_cx` counts pooling outputs as activations; torchvision's GFLOPS count neither.
    @Test func pyclsFiguresAddBiasesAndPooling() throws {
        let d2l = Summary(try defaultGraph(input: .map(1, 96, 96)), batch: 1).totals
        // Conv biases: stem 64, stages 4 x 64, 4 x 128 + 128, 4 x 256 + 256, 4 x 512 + 512; head 10.
        #expect(d2l.pyclsFlops == d2l.macs + 4_800 + 10)
        #expect(d2l.pyclsFlops == 318_662_346)
        let text = try #require(Zoo.spec(named: "imagenet/resnet50"))
        let graph = try #require(Compiler.compile(source: text, file: "resnet50.yaml").graph)
        let r50 = Summary(graph, batch: 1).totals
        #expect(r50.pyclsFlops == r50.macs + 1_000)
        #expect(r50.pyclsActivations == r50.activations + 64 * 56 * 56)
        let footer = Summary(graph, batch: 1).renderText().split(separator: "\n").suffix(5).joined(separator: "\n")
        #expect(footer == """
            ================================================================================================
            Conv+linear MACs (torchvision GFLOPS): 4.09 G
            pycls flops (MACs + biases): 4,089,185,256
            pycls acts (conv, linear and pooling outputs): 11,315,688
            BN running statistics (buffers, not params): 53,120
            """)
    }

    /// Columns widen to their widest value: a huge input used to run shapes and counts together.
    @Test func columnsWidenForHugeValues() throws {
        let text = Summary(try defaultGraph(input: .map(1, 4000, 4000)), batch: 100_000, depth: 1).renderText()
        #expect(text.split(separator: "\n").prefix(11).joined(separator: "\n") == """
            resnet18
            ============================================================================================================
            Layer (kind)                                  Output Shape                    Param #              Mult-Adds
            ============================================================================================================
            stem (stem)                                   [100000, 64, 1000, 1000]          3,328  1,280,000,012,800,000
            stages.0 (stage)                              [100000, 64, 1000, 1000]        148,224 14,771,200,051,200,000
            stages.1 (stage)                              [100000, 128, 500, 500]         525,952 13,123,200,102,400,000
            stages.2 (stage)                              [100000, 256, 250, 250]       2,100,480 13,115,200,204,800,000
            stages.3 (stage)                              [100000, 512, 125, 125]       8,395,264 13,111,200,409,600,000
            head (head)                                   [100000, 10]                      5,130            513,000,000
            ============================================================================================================
            """)
    }
}

/// `summary --format json` gives each conv's and pool's window as fields, and its schema's version.
@Test func summaryJSONHasStructuredWindows() throws {
    let g = try #require(Compiler.compile(source: Zoo.spec(named: "resnext")!, file: "resnext.yaml").graph)
    let s = Summary(g, batch: 1, depth: 3)
    let conv = try #require(s.rows.first { $0.name == "stem.conv1" })
    #expect(conv.kernel == [7, 7] && conv.stride == [2, 2] && conv.padding == [3, 3] && conv.groups == 1)
    let grouped = try #require(s.rows.first { $0.name == "stages.1.0.conv2" })
    #expect(grouped.groups == 8 && grouped.stride == [2, 2])
    let pool = try #require(s.rows.first { $0.name == "stem.maxpool1" })
    #expect(pool.kernel == [3, 3] && pool.groups == nil)
    #expect(s.rows.first { $0.name == "stem.bn1" }?.kernel == nil)
    let json = s.renderJSON()
    #expect(json.contains("\"schema_version\" : 1") && json.contains("\"kind\" : \"Conv2d 7x7/2\""))
}
