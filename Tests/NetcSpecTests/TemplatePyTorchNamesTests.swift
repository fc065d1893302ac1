import NetcIR
import NetcZoo
import Testing
@testable import NetcSpec

/// `pytorch:` on a template's layers: each layer's name in the block's PyTorch twin, which a
/// spec's `pytorch_names` place under the block's name; `{n}` numbers blocks across stages.
struct TemplatePyTorchNamesTests {
    static func naming(_ yaml: String) throws -> TensorNaming {
        let c = Compiler.compile(source: yaml, file: "spec.yaml")
        #expect(c.diagnostics.isEmpty, "\(c.renderDiagnostics())")
        return try #require(c.pytorchNames)
    }

    /// torchvision's BasicBlock as a spec's own block: with its projection's names, a rule for the
    /// block's prefix is all the spec says about its stages.
    static let basicBlock = """
        name: t
        input: {channels: 3, size: 16}
        blocks:
          basic:
            body:
              - conv: {out: $channels, kernel: 3, stride: $stride, pad: 1}
              - batchnorm
            shortcut:
              projection:
                - conv: {out: $channels, kernel: 1, stride: $stride, pytorch: downsample.0}
                - batchnorm: {pytorch: downsample.1}
        stages:
          - {block: basic, depth: 2, channels: 4}
          - {block: basic, depth: 1, channels: 8, stride: 2}
        head: [global_avgpool, flatten, {linear: {out: 2}}]

        """

    @Test func theRuleNamesTheBlockAndTheTemplateItsLayers() throws {
        let n = try Self.naming(Self.basicBlock + """
            pytorch_names:
              "stages.{s}.{b}": "layer{s+1}.{b}"
              head.fc1: fc
            """)
        #expect(n.foreign("stages.0.0.conv1.weight") == "layer1.0.conv1.weight")
        #expect(n.foreign("stages.0.0.conv2.weight") == "layer1.0.downsample.0.weight")
        #expect(n.foreign("stages.1.0.bn2.running_var") == "layer2.0.downsample.1.running_var")
        #expect(n.foreign("stages.0.1.bn1.bias") == "layer1.1.bn1.bias")
        #expect(n.foreign("head.fc1.weight") == "fc.weight")
    }

    /// A rule rewrites the part of a name it matches, the template's names the parts after it: a
    /// rule that reaches a layer wins over its template's name, and without a rule for the block
    /// the template's names follow netc's prefix.
    @Test func aRuleThatReachesTheLayerWinsOverTheTemplate() throws {
        let n = try Self.naming(Self.basicBlock + """
            pytorch_names:
              "stages.{s}.{b}": "layer{s+1}.{b}"
              "stages.{s}.{b}.conv2": "layer{s+1}.{b}.shortcut"
            """)
        #expect(n.foreign("stages.1.0.conv2.weight") == "layer2.0.shortcut.weight")
        #expect(n.foreign("stages.1.0.bn2.weight") == "layer2.0.downsample.1.weight")
        let headOnly = try Self.naming(Self.basicBlock + "pytorch_names: {head.fc1: fc}\n")
        #expect(headOnly.foreign("stages.0.0.conv2.weight") == "stages.0.0.downsample.0.weight")
        #expect(headOnly.foreign("stages.0.0.conv1.weight") == "stages.0.0.conv1.weight")
    }

    /// Template names are for specs that declare a PyTorch twin: without `pytorch_names`, netc's names.
    @Test func withoutPytorchNamesTheTemplatesNamesAreNotUsed() {
        let c = Compiler.compile(source: Self.basicBlock, file: "spec.yaml")
        #expect(c.succeeded && c.pytorchNames == nil)
    }

    /// A name may be an expression over the block's parameters: torchvision's inverted residual
    /// numbers its layers one place fewer when it has no expansion conv.
    @Test func anExpressionNamesALayerByTheBlocksParameters() throws {
        let n = try Self.naming("""
            name: t
            input: {channels: 3, size: 16}
            blocks:
              inverted:
                params: {expansion: int}
                body:
                  - conv: {out: $channels, kernel: 1, if: "$expansion != 1", pytorch: conv.0}
                  - conv: {out: $channels, kernel: 3, pad: 1, pytorch: "$expansion != 1 ? 'conv.1' : 'conv.0'"}
                shortcut: none
            stages:
              - {block: inverted, depth: 1, channels: 3, expansion: 1}
              - {block: inverted, depth: 1, channels: 3, expansion: 6}
            pytorch_names: {"stages.{s}.{b}": "features.{s}"}
            """)
        #expect(n.foreign("stages.0.0.conv1.weight") == "features.0.conv.0.weight")
        #expect(n.foreign("stages.1.0.conv1.weight") == "features.1.conv.0.weight")
        #expect(n.foreign("stages.1.0.conv2.weight") == "features.1.conv.1.weight")
    }

    /// `{n}` counts blocks across stages, as torchvision's `features.1` to `features.17` do.
    @Test func blockNumbersCountAcrossStages() throws {
        let n = try Self.naming("""
            name: t
            input: {channels: 2, size: 8}
            stages:
              - {block: residual, depth: 1, channels: 2}
              - {block: residual, depth: 2, channels: 2}
              - {block: residual, depth: 3, channels: 2}
            pytorch_names: {"stages.{s}.{b}": "features.{n+1}", "stages.{s}.{b}.conv1": "f{n}.s{s}.b{b}"}
            """)
        #expect(n.foreign("stages.0.0.bn1.weight") == "features.1.bn1.weight")
        #expect(n.foreign("stages.1.1.bn1.weight") == "features.3.bn1.weight")
        #expect(n.foreign("stages.2.0.bn2.weight") == "features.4.bn2.weight")
        #expect(n.foreign("stages.2.2.conv1.weight") == "f5.s2.b2.weight")
        // A stage the network does not have matches nothing.
        #expect(n.foreign("stages.3.0.conv1.weight") == "stages.3.0.conv1.weight")
    }

    /// A block used as a layer of a template is named by its own `pytorch:`, its layers by theirs.
    @Test func aNestedBlockIsNamedByItsCallAndItsLayersByItsTemplate() throws {
        let n = try Self.naming("""
            name: t
            input: {channels: 4, size: 8}
            blocks:
              excite:
                body:
                  - global_avgpool
                  - conv: {out: 2, kernel: 1, pytorch: fc1}
                  - relu
                  - conv: {out: $channels, kernel: 1, pytorch: fc2}
                  - sigmoid
                  - mul: {from: input}
                shortcut: none
              block:
                body:
                  - conv: {out: $channels, kernel: 3, pad: 1, pytorch: f.a}
                  - excite: {pytorch: f.se}
            stages: [{block: block, depth: 1, channels: 4}]
            pytorch_names: {"stages.{s}.{b}": "trunk.{s}-{b}"}
            """)
        #expect(n.foreign("stages.0.0.conv1.weight") == "trunk.0-0.f.a.weight")
        #expect(n.foreign("stages.0.0.excite1.conv2.bias") == "trunk.0-0.f.se.fc2.bias")
    }

    /// The bundled inverted residual names MobileNetV2's layers as torchvision does, with and
    /// without the expansion conv, and six rules number its blocks.
    @Test func theBundledMobileNetV2IsNamedAsTorchvisions() throws {
        let n = try Self.naming(try #require(Zoo.spec(named: "imagenet/mobilenet_v2")))
        #expect(n.foreign("stages.0.0.conv1.weight") == "features.1.conv.0.0.weight")
        #expect(n.foreign("stages.0.0.conv2.weight") == "features.1.conv.1.weight")
        #expect(n.foreign("stages.0.0.bn2.running_mean") == "features.1.conv.2.running_mean")
        #expect(n.foreign("stages.1.0.conv2.weight") == "features.2.conv.1.0.weight")
        #expect(n.foreign("stages.1.1.bn3.weight") == "features.3.conv.3.weight")
        #expect(n.foreign("stages.6.0.conv3.weight") == "features.17.conv.2.weight")
    }

    @Test func badNamesAreRefusedWhereTheyAreWritten() {
        let r = rendered(#"""
name: t
input: {channels: 2, size: 8}
blocks:
  plain:
    params: {expansion: int}
    body:
      - conv: {out: $channels, kernel: 1, pytorch: "down..sample"}
      - batchnorm: {pytorch: 0.1}
      - conv: {out: $channels, kernel: 1, pytorch: "$expansion > 1 ? 'conv 1' : 'conv1'"}
    shortcut: none
stem:
  - conv: {out: 2, kernel: 1, pytorch: conv1}
stages: [{block: plain, depth: 1, channels: 2, expansion: 6}]
pytorch_names:
  "stages.{n}": "x"
  "head.{b}": "features.{n}"

"""#)
        #expect(r.succeeded == false)
        #expect(r.text == #"""
spec.yaml:7:52: error: 'pytorch' of 'conv' in block 'plain' is 'down..sample', which has an empty part between its dots
  7 |       - conv: {out: $channels, kernel: 1, pytorch: "down..sample"}
    |                                                    ^~~~~~~~~~~~~~
help: write the layer's name in its PyTorch block: attribute names and indices joined by dots, such as 'downsample.0' or 'f.se.fc1'
spec.yaml:8:30: error: 'pytorch' of 'batchnorm' in block 'plain' must be a PyTorch name such as 'downsample.0', got the number 0.1
  8 |       - batchnorm: {pytorch: 0.1}
    |                              ^~~
help: quote a name made of numbers: 'pytorch: "0.1"'
spec.yaml:9:53: error: 'pytorch' of 'conv' in block 'plain' is 'conv 1', whose ' ' is not in a PyTorch name: letters, digits, '_' and '-', in parts joined by dots
  9 |       - conv: {out: $channels, kernel: 1, pytorch: "$expansion > 1 ? 'conv 1' : 'conv1'"}
    |                                                     ^~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~
help: write the layer's name in its PyTorch block: attribute names and indices joined by dots, such as 'downsample.0' or 'f.se.fc1'
spec.yaml:12:31: error: 'pytorch' names a layer of a block template, and this 'conv' is not in one
  12 |   - conv: {out: 2, kernel: 1, pytorch: conv1}
     |                               ^~~~~~~
help: name the spec's own layers in 'pytorch_names:', e.g. 'head.fc1: fc'
spec.yaml:15:3: error: '{n}' in 'stages.{n}' is a block's number across all stages, which a pattern does not bind
  15 |   "stages.{n}": "x"
     |   ^~~~~~~~~~~~
help: name the stage and block '{s}' and '{b}', and write '{n}' in the PyTorch name: 'stages.{s}.{b}: features.{n+1}'
spec.yaml:16:15: error: '{n}' in 'features.{n}' numbers blocks across stages, but 'head.{b}' does not name a block
  16 |   "head.{b}": "features.{n}"
     |               ^~~~~~~~~~~~~~
help: write '{n}' in the PyTorch name of a pattern that starts 'stages.{s}.{b}'

"""#)
    }
}
