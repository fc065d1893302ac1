import NetcIR
import Testing
@testable import NetcSpec

/// The bundled blocks and user-defined ones lower to the layers their papers describe.
struct BlockTests {
    func graph(_ yaml: String) throws -> Graph {
        let c = Compiler.compile(source: yaml, file: "spec.yaml")
        #expect(c.diagnostics.isEmpty, "\(c.renderDiagnostics())")
        return try #require(c.graph)
    }

    func convs(_ g: Graph, in prefix: String) -> [(name: String, conv: Conv)] {
        g.nodes.compactMap { n in
            guard n.name.hasPrefix(prefix), let c = n.op as? Conv else { return nil }
            return (n.name, c)
        }
    }

    /// d2l: `blk = ResNeXtBlock(32, 16, 1); X = torch.randn(4, 32, 96, 96); blk(X).shape` is (4, 32, 96, 96).
    @Test func d2lResNeXtBlockKeepsShapeWithTwoGroups() throws {
        let g = try graph("""
            name: resnext-block
            input: {channels: 32, size: 96}
            stages:
              - {block: resnext, depth: 1, channels: 32, group_width: 16, bot_mul: 1}
            """)
        #expect(g.outputShape == .map(32, 96, 96))
        #expect(Summary(g, batch: 4).totals.outputShape == [4, 32, 96, 96])
        let c = convs(g, in: "stages.0.0")
        #expect(c.map(\.conv.groups) == [1, 2, 1])
        #expect(c.map(\.conv.outChannels) == [32, 32, 32])
        #expect(!g.nodes.contains { $0.name.contains("conv4") }, "same shape: identity shortcut")
    }

    @Test func residualProjectsOnlyWhenShapeChanges() throws {
        let g = try graph("""
            name: r
            input: {channels: 8, size: 16}
            stages:
              - {block: residual, depth: 2, channels: 8}
              - {block: residual, depth: 2, channels: 16, stride: 2}
            """)
        #expect(convs(g, in: "stages.0.").count == 4)
        let first = convs(g, in: "stages.1.0.")
        #expect(first.map(\.name) == ["stages.1.0.conv1", "stages.1.0.conv2", "stages.1.0.conv3"])
        #expect(first.map(\.conv.kernel.strideH) == [2, 1, 2])
        #expect(convs(g, in: "stages.1.1.").map(\.conv.kernel.strideH) == [1, 1], "stride applies to the first block only")
        #expect(!g.nodes.contains { $0.op is BatchNorm && $0.name == "stages.1.0.bn3" })
    }

    @Test(arguments: [("3x3", [1, 2, 1]), ("1x1", [2, 1, 1])])
    func bottleneckStridePlacement(strideOn: String, strides: [Int]) throws {
        let g = try graph("""
            name: b
            input: {channels: 64, size: 16}
            stages:
              - {block: bottleneck, depth: 1, channels: 256, stride: 2, stride_on: "\(strideOn)"}
            """)
        let c = convs(g, in: "stages.0.0.")
        #expect(c.map(\.conv.outChannels) == [64, 64, 256, 256])
        #expect(c.map(\.conv.kernel.strideH) == strides + [2])
        #expect(g.outputShape == .map(256, 8, 8))
    }

    @Test func preactTapsTheFirstReLUForItsProjection() throws {
        let g = try graph("""
            name: p
            input: {channels: 8, size: 8}
            stages:
              - {block: preact, depth: 1, channels: 16, stride: 2}
            """)
        let projection = try #require(g.nodes.first { $0.name == "stages.0.0.conv3" })
        #expect(g.nodes[projection.inputs[0]].name == "stages.0.0.relu1")
        let add = try #require(g.nodes.first { $0.op is Add })
        #expect(g.nodes.last?.id == add.id, "nothing follows the add in a pre-activation block")
    }

    /// He et al. 2016b: the identity path adds the block input x, not relu(bn1(x)); only the
    /// projection reads the pre-activated tensor. (netc once added relu(bn1(x)) with the right counts.)
    @Test func preactAddsTheBlockInputOnItsIdentityPath() throws {
        let g = try graph("""
            name: p
            input: {channels: 8, size: 8}
            stem: [{conv: {out: 8, kernel: 3, pad: 1}}]
            stages:
              - {block: preact, depth: 2, channels: 8}
            """)
        for block in ["stages.0.0", "stages.0.1"] {
            let add = try #require(g.nodes.first { $0.name == "\(block).add" })
            let bn1 = try #require(g.nodes.first { $0.name == "\(block).bn1" })
            #expect(add.inputs[1] == bn1.inputs[0], "\(block) adds its own input")
            #expect(!(g.nodes[add.inputs[1]].op is ReLU))
        }
    }

    @Test func identityAndProjectionReadTheLayersTheyName() throws {
        let g = try graph("""
            name: taps
            input: {channels: 4, size: 8}
            blocks:
              tapped:
                body:
                  - conv: {out: $channels, kernel: 3, pad: 1, stride: $stride}
                  - relu
                  - conv: {out: $channels, kernel: 1}
                shortcut: {identity_from: relu1}
              projected:
                body:
                  - conv: {out: $channels, kernel: 3, pad: 1}
                  - relu
                  - conv: {out: $channels, kernel: 1}
                shortcut:
                  when: always
                  projection_from: conv1
                  projection: [{conv: {out: $channels, kernel: 1}}]
            stages:
              - {block: tapped, depth: 1, channels: 4}
              - {block: projected, depth: 1, channels: 8}
            """)
        let identityAdd = try #require(g.nodes.first { $0.name == "stages.0.0.add" })
        #expect(g.nodes[identityAdd.inputs[1]].name == "stages.0.0.relu1")
        let projection = try #require(g.nodes.first { $0.name == "stages.1.0.conv3" })
        #expect(g.nodes[projection.inputs[0]].name == "stages.1.0.conv1")
    }

    @Test func theRetiredFromKeySaysWhatToWriteInstead() {
        let c = Compiler.compile(source: """
            name: old
            input: {channels: 4, size: 8}
            blocks:
              pre:
                body: [batchnorm, relu, {conv: {out: $channels, kernel: 3, pad: 1}}]
                shortcut: {from: relu1, projection: [{conv: {out: $channels, kernel: 1}}]}
            stages:
              - {block: pre, depth: 1, channels: 8}
            """, file: "old.yaml")
        #expect(c.renderDiagnostics() == """
            old.yaml:6:16: error: unknown key 'from' in shortcut
              6 |     shortcut: {from: relu1, projection: [{conv: {out: $channels, kernel: 1}}]}
                |                ^~~~
            help: 'from' fed both the projection and the identity path; write 'projection_from' and/or 'identity_from' (a pre-activation block projects its first ReLU's output, 'projection_from: relu1', and adds the block input unchanged)

            """)
    }

    @Test func aBodyWhoseEveryLayerIsSkippedIsRefused() {
        let c = Compiler.compile(source: """
            name: t
            input: {channels: 4, size: 8}
            blocks:
              maybe:
                params: {on: {type: bool, default: false}}
                body: [{conv: {out: $channels, kernel: 1, if: $on}}]
            stages:
              - {block: maybe, depth: 1, channels: 4}
            """, file: "skip.yaml")
        #expect(c.renderDiagnostics() == """
            skip.yaml:8:5: error: block 'maybe' has no layers left in its body: every one has an 'if' that is false here
              8 |   - {block: maybe, depth: 1, channels: 4}
                |     ^
            help: keep at least one layer of the body for these arguments, or use no block here

            """)
    }

    @Test func anEmptyBodyUsedByAStageIsReportedOnce() {
        let c = Compiler.compile(source: """
            name: t
            input: {channels: 4, size: 8}
            blocks:
              nothing: {body: []}
            stages:
              - {block: nothing, depth: 1, channels: 4}
            """, file: "empty.yaml")
        #expect(c.diagnostics.map(\.message) == ["block 'nothing' has an empty body"])
    }

    @Test func stageListsEqualStageMappings() throws {
        let lists = try graph("""
            name: a
            input: {channels: 1, size: 32}
            stages: {block: resnext, depths: [1, 2], widths: [32, 64], strides: [1, 2], group_widths: [8, 16], bot_mul: 0.5}
            """)
        let mappings = try graph("""
            name: a
            input: {channels: 1, size: 32}
            stages:
              - {block: resnext, depth: 1, channels: 32, group_width: 8, bot_mul: 0.5}
              - {block: resnext, depth: 2, channels: 64, stride: 2, group_width: 16, bot_mul: 0.5}
            """)
        #expect(lists.nodes.count == mappings.nodes.count && zip(lists.nodes, mappings.nodes).allSatisfy { $0.op.isEqual(to: $1.op) })
        #expect(lists.nodes.map(\.shape) == mappings.nodes.map(\.shape))
    }

    @Test func customBlockWithAnchorsDerivedValuesAndConditions() throws {
        let g = try graph("""
            name: custom
            input: {channels: 3, size: 32}
            defaults: {bias: false}
            blocks:
              wide: &wide
                params:
                  widen: {type: int, default: 2}
                  extra_bn: {type: bool, default: false}
                let:
                  inner: $channels * $widen
                body:
                  - conv: {out: $inner, kernel: 3, stride: $stride, pad: 1}
                  - batchnorm: {if: $extra_bn}
                  - relu
                  - conv: {out: $channels, kernel: 3, pad: 1, name: squeeze}
                shortcut: {projection: [{conv: {out: $channels, kernel: 1, stride: $stride}}]}
              wider:
                <<: *wide
                after: [relu]
            stages:
              - {block: wide, depth: 1, channels: 16, widen: 3, extra_bn: true}
              - {block: wider, depth: 1, channels: 16}
            """)
        let first = convs(g, in: "stages.0.0.")
        #expect(first.map(\.name) == ["stages.0.0.conv1", "stages.0.0.squeeze", "stages.0.0.conv2"])
        #expect(first.map(\.conv.outChannels) == [48, 16, 16])
        #expect(first.allSatisfy { !$0.conv.bias })
        #expect(g.nodes.contains { $0.name == "stages.0.0.bn1" })
        #expect(!g.nodes.contains { $0.name == "stages.1.0.bn1" }, "'if: false' drops the layer")
        #expect(g.nodes.last?.op is ReLU, "the merged block adds 'after'")
        #expect(convs(g, in: "stages.1.0.").count == 2, "same shape: no projection")
    }

    @Test func yaml11ScalarsAreNotGuessed() throws {
        // `on` stays the string 'on', so a one_of of strings accepts it; 1e3 is a number, not an integer.
        let c = Compiler.compile(source: """
            name: t
            input: {channels: 1, size: 8}
            blocks:
              s:
                params: {mode: {type: string, one_of: ["on", "off"]}}
                body: [{conv: {out: $channels, kernel: 1}}]
            stages:
              - {block: s, depth: 1, channels: 1e3, mode: on}
            """, file: "spec.yaml")
        #expect(c.diagnostics.map(\.message) == ["'channels' must be an integer, got the number 1000.0"])
    }
}

struct ExpressionTests {
    func eval(_ text: String, _ env: [String: Value] = [:]) -> Result<Value, Expression.Failure> {
        Expression.parse(text).flatMap { $0.evaluate { env[$0] } }
    }

    @Test func arithmeticFollowsPython() throws {
        #expect(try eval("round($c * $m)", ["c": .int(64), "m": .double(0.25)]).get() == .int(16))
        #expect(try eval("round(2.5)").get() == .int(2), "round half to even, as Python's round")
        #expect(try eval("round(3.5)").get() == .int(4))
        #expect(try eval("7 // 2").get() == .int(3))
        #expect(try eval("-7 // 2").get() == .int(-4), "floor division")
        #expect(try eval("7 / 2").get() == .double(3.5))
        #expect(try eval("1 + 2 * 3 - 4").get() == .int(3))
        #expect(try eval("max(1, 2.5, 2)").get() == .double(2.5))
        #expect(try eval("$s == '1x1' ? $k : 1", ["s": .string("1x1"), "k": .int(2)]).get() == .int(2))
        #expect(try eval("not (1 < 2) or 2 >= 2").get() == .bool(true))
    }

    @Test func failuresSayWhereAndWhy() {
        guard case .failure(let f) = eval("$a * * 2") else { Issue.record("expected a failure"); return }
        #expect(f.offset == 5 && f.message == "unexpected '*'")
        guard case .failure(let g) = eval("1 // 0") else { Issue.record("expected a failure"); return }
        #expect(g.message == "division by zero")
        guard case .failure(let h) = eval("sqrt(4)") else { Issue.record("expected a failure"); return }
        #expect(h.message == "unknown function 'sqrt'")
        guard case .failure(let u) = eval("$missing + 1") else { Issue.record("expected a failure"); return }
        #expect(u.message == "undefined parameter '$missing'" && u.offset == 0)
    }
}

/// Absurd sizes are refused with a message instead of overflowing or running out of memory.
struct LimitTests {
    @Test func hugeValuesAndDepthsAreRefused() {
        let c = Compiler.compile(source: """
            name: big
            input: {channels: 1, size: 32}
            stages:
              - {block: residual, depth: 200000, channels: 8}
            head:
              - conv: {out: 9223372036854775807, kernel: 3, pad: 99999999999}
            """, file: "big.yaml")
        #expect(c.diagnostics.map(\.message) == [
            "the network has more than 100000 layers (at stages.0.14285.conv2, whose input is 8x32x32 for a 1x32x32 network input)",
            "'out' of 'conv' is 9223372036854775807; netc takes values up to 1048576",
            "'pad' of 'conv' is 99999999999; netc takes values up to 1048576",
        ])
    }

    @Test func layersTooLargeToCountAreRefused() {
        let c = Compiler.compile(source: """
            name: huge
            input: {channels: 1000000, size: 1000000}
            stages:
              - {block: residual, depth: 1, channels: 1000000}
            """, file: "huge.yaml")
        #expect(c.diagnostics.count == 1)
        #expect(c.diagnostics.first?.message.hasPrefix("the layer is too large: 1000000x1000000x1000000 outputs") == true)
    }
}
