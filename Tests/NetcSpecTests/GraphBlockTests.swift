import NetcIR
import NetcSpec
import NetcZoo
import Testing

/// Blocks as graphs: `from:` reads any earlier layer of the block or its input, and `add`, `mul`
/// and `concat` join branches (squeeze-and-excitation, inverted residuals, Inception).
struct GraphBlockTests {
    func graph(_ yaml: String) throws -> Graph {
        let c = Compiler.compile(source: yaml, file: "spec.yaml")
        #expect(c.diagnostics.isEmpty, "\(c.renderDiagnostics())")
        return try #require(c.graph)
    }

    func node(_ g: Graph, _ name: String) throws -> Node { try #require(g.nodes.first { $0.name == name }) }
    func inputs(_ g: Graph, _ n: Node) -> [String] { n.inputs.map { g.nodes[$0].name } }

    @Test func squeezeExcitationGatesTheGroupedConvsOutput() throws {
        let g = try graph(Zoo.spec(named: "imagenet/regnet_y_400mf")!)
        let mul = try node(g, "stages.1.2.mul1")
        #expect(inputs(g, mul) == ["stages.1.2.sigmoid1", "stages.1.2.relu2"])
        #expect(g.nodes[mul.inputs[0]].shape == .map(104, 1, 1) && mul.shape == .map(104, 28, 28))
        // The squeeze is a quarter of the block's input channels: 48 for the stage's first block, then 104.
        #expect(try node(g, "stages.1.0.conv3").shape.channels == 12 && node(g, "stages.1.1.conv3").shape.channels == 26)
        #expect(try inputs(g, node(g, "stages.1.2.conv5")) == ["stages.1.2.mul1"])
    }

    @Test func invertedResidualsAddTheirInputOnlyWhenTheShapeStays() throws {
        let g = try graph(Zoo.spec(named: "imagenet/mobilenet_v2")!)
        let adds = g.nodes.filter { $0.op is Add }.map(\.name)
        // Table 2: the first block of each stage changes channels or stride; 10 blocks keep both.
        #expect(adds.count == 10)
        #expect(!adds.contains { $0.hasPrefix("stages.1.0.") } && adds.contains("stages.1.1.add1"))
        #expect(try inputs(g, node(g, "stages.1.1.add1")) == ["stages.1.1.bn3", "stages.1.0.bn3"])
        // Expansion 1 leaves the expanding conv out: the depthwise conv is the block's first.
        #expect(try node(g, "stages.0.0.conv1").parameters[0].shape == [32, 1, 3, 3])
        #expect(try node(g, "stages.1.0.conv2").parameters[0].shape == [96, 1, 3, 3])
    }

    @Test func inceptionConcatenatesFourBranchesOfItsInput() throws {
        let g = try graph(Zoo.spec(named: "googlenet")!)
        let concat = try node(g, "layers.inception1.concat1")
        #expect(inputs(g, concat) == ["layers.inception1.branch1", "layers.inception1.branch2",
                                      "layers.inception1.branch3", "layers.inception1.branch4"])
        #expect(concat.shape == .map(256, 12, 12), "64 + 128 + 32 + 32 channels")
        let blockInput = try node(g, "layers.maxpool2").id
        for first in ["conv1", "conv2", "conv4"] {
            #expect(try node(g, "layers.inception1.\(first)").inputs == [blockInput])
        }
        #expect(try node(g, "layers.inception1.maxpool1").inputs == [blockInput])
    }

    @Test func aLayerLeftOutByItsIfPassesItsInputToWhatNamesIt() throws {
        let g = try graph("""
            name: t
            input: {channels: 2, size: 8}
            layers:
              - conv: {out: 2, kernel: 3, pad: 1}
              - relu: {name: maybe, if: false}
              - conv: {out: 2, kernel: 1}
              - add: {from: maybe}
            """)
        #expect(try inputs(g, node(g, "layers.add1")) == ["layers.conv2", "layers.conv1"])
    }

    @Test func everyWiringMistakeIsReportedWhereItIsWritten() {
        let r = rendered("""
            name: bad
            input: {channels: 1, size: 16}
            blocks:
              twin:
                body:
                  - conv: {out: 4, kernel: 3, pad: 1}
                  - conv: {from: inptu, out: 4, kernel: 3, pad: 1}
                  - concat
                shortcut: idenity
            layers:
              - conv: {out: 4, kernel: 3, pad: 1}
              - twin: {channels: 4}
              - conv: {from: nowhere, out: 2, kernel: 1}
              - concat: {from: [conv1, conv2]}
              - conv: {out: 4, kernel: 3, stride: 2, pad: 1, from: conv1}
              - concat: {from: [conv1, conv3]}
              - add: {from: [conv1, conv1, conv1]}
              - relu: {from: [conv1, conv1]}
              - mul: {from: []}
            """)
        #expect(!r.succeeded)
        #expect(r.text == """
            spec.yaml:7:22: error: 'from: inptu' names no earlier layer here
              7 |       - conv: {from: inptu, out: 4, kernel: 3, pad: 1}
                |                      ^~~~~
            help: did you mean 'input'?
            spec.yaml:8:9: error: 'concat' needs 'from:' naming what it joins
              8 |       - concat
                |         ^~~~~~
            help: write e.g. 'concat: {from: [relu1, relu2]}'
            spec.yaml:9:15: error: shortcut must be a mapping or 'none', got the string 'idenity'
              9 |     shortcut: idenity
                |               ^~~~~~~
            help: write 'shortcut: none' for a block without a residual add, or give its keys: 'shortcut: {projection: [...]}'
            spec.yaml:13:18: error: 'from: nowhere' names no earlier layer here
              13 |   - conv: {from: nowhere, out: 2, kernel: 1}
                 |                  ^~~~~~~
            help: the layers before it are: conv1, input, twin1
            spec.yaml:16:5: error: cannot concatenate 4x16x16, 4x8x8 along channels (at layers.concat2, whose inputs are 4x16x16 from layers.conv1, 4x8x8 from layers.conv3 for a 1x16x16 network input)
              16 |   - concat: {from: [conv1, conv3]}
                 |     ^~~~~~
            help: every input needs the same height and width; give the branches the same stride and padding
            spec.yaml:17:18: error: 'add' reads 2 tensors, 'from' gives 3
              17 |   - add: {from: [conv1, conv1, conv1]}
                 |                  ^~~~~
            help: name the tensors to join, e.g. 'from: [relu1, relu2]'
            spec.yaml:18:19: error: 'relu' reads 1 tensor, 'from' gives 2
              18 |   - relu: {from: [conv1, conv1]}
                 |                   ^~~~~
            help: name one layer, e.g. 'from: relu1'
            spec.yaml:19:17: error: 'from' names no layer
              19 |   - mul: {from: []}
                 |                 ^
            help: name the layers to read, e.g. 'from: [relu1, relu2]'

            """)
    }

    @Test func aScaleMustMatchTheMapsChannels() {
        let r = rendered("""
            name: t
            input: {channels: 1, size: 8}
            layers:
              - conv: {out: 4, kernel: 3, pad: 1}
              - global_avgpool
              - conv: {out: 3, kernel: 1}
              - mul: {from: conv1}
            """)
        #expect(r.text.hasPrefix("""
            spec.yaml:7:5: error: cannot multiply 3x1x1 by 4x8x8 (at layers.mul1, whose inputs are 3x1x1 from layers.conv2, 4x8x8 from layers.conv1 for a 1x8x8 network input)
            """))
    }
}

/// A layer's `name:` is what `from:` reads and what parameter names are made of: `input`, a dot
/// and a second layer of the same name in a block are refused; alternatives left out by `if` may share one.
struct LayerNameTests {
    @Test func namesFromCannotTellApartAreRefused() {
        let r = rendered("""
            name: t
            input: {channels: 1, size: 8}
            layers:
              - conv: {out: 2, kernel: 3, pad: 1, name: input}
              - conv: {out: 2, kernel: 3, pad: 1, name: a.weight}
              - conv: {out: 2, kernel: 3, pad: 1, name: x}
              - relu: {name: x}
            """)
        #expect(r.text == """
            spec.yaml:4:39: error: layer name 'input' is reserved: 'from: input' reads the block's input
              4 |   - conv: {out: 2, kernel: 3, pad: 1, name: input}
                |                                       ^~~~
            help: give the layer a name of its own, without dots, such as 'branch1'
            spec.yaml:5:39: error: layer name 'a.weight' contains a dot, which separates the parts of parameter names
              5 |   - conv: {out: 2, kernel: 3, pad: 1, name: a.weight}
                |                                       ^~~~
            help: give the layer a name of its own, without dots, such as 'branch1'
            spec.yaml:7:12: error: layer name 'x' is already used in this block
              7 |   - relu: {name: x}
                |            ^~~~
            help: give the layer a name of its own, without dots, such as 'branch1'

            """)
    }

    @Test func alternativesLeftOutByIfMayShareAName() throws {
        let c = Compiler.compile(source: """
            name: t
            input: {channels: 1, size: 8}
            layers:
              - conv: {out: 2, kernel: 3, pad: 1}
              - relu: {name: act, if: false}
              - relu6: {name: act}
              - add: {from: [act, conv1]}
            """, file: "spec.yaml")
        #expect(c.diagnostics.isEmpty, "\(c.renderDiagnostics())")
        let g = try #require(c.graph)
        #expect(g.nodes.last?.inputs.map { g.nodes[$0].name } == ["layers.act", "layers.conv1"])
    }
}

/// A layer that `from:` routes around leads nowhere: a warning, since it still counts in every figure.
@Test func aLayerNothingReadsIsReported() {
    let r = rendered("""
        name: t
        input: {channels: 1, size: 8}
        layers:
          - conv: {out: 2, kernel: 3, pad: 1, name: dead}
          - conv: {from: input, out: 2, kernel: 3, pad: 1}
        """)
    #expect(r.succeeded)
    #expect(r.text == """
        spec.yaml:4:5: warning: nothing reads the output of layers.dead
          4 |   - conv: {out: 2, kernel: 3, pad: 1, name: dead}
            |     ^~~~
        help: name it in a later layer's 'from:', or remove it: it counts in the parameters and costs but never learns

        """)
}
