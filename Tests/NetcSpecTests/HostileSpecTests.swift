import Foundation
import NetcIR
import Testing
@testable import NetcSpec

/// Specs from the hostile-input hunt that netc once accepted and then computed garbage from,
/// rendered in full as `netc check` prints them.
struct HostileSpecTests {
    /// `defaults: {bn_eps: 0, bn_momentum: 7}` was refused, but the same values on one batch norm
    /// were taken: `momentum: 7` turned the running variance negative after one training step
    /// (NaN logits in eval), `eps: 0` divides by zero on a constant channel.
    @Test func batchNormEpsAndMomentumOnALayerAreCheckedLikeTheDefaults() {
        let r = rendered(#"""
netc: 1
name: t
input: {channels: 1, size: 8}
classes: 3
blocks:
  b:
    params: {m: {type: number, default: 1.5}}
    body: [{conv: {out: $channels, kernel: 3, pad: 1}}, {batchnorm: {momentum: $m}}]
stem: [{conv: {out: 2, kernel: 3}}, {batchnorm: {eps: 0, momentum: 7}}, {batchnorm: {eps: -1e-3, momentum: 1}}]
stages: [{block: b, depth: 1, channels: 2}]
head: [global_avgpool, flatten, {linear: {out: $classes}}]

"""#)
        #expect(r.succeeded == false)
        #expect(r.text == #"""
spec.yaml:7:41: error: 'momentum' of 'batchnorm' in block 'b' must be between 0 and 1, got 1.5
  7 |     params: {m: {type: number, default: 1.5}}
    |                                         ^~~
help: the running statistics move this fraction of the way to each batch's: use e.g. 0.1, as PyTorch
spec.yaml:9:55: error: 'eps' of 'batchnorm' must be positive, got 0.0
  9 | stem: [{conv: {out: 2, kernel: 3}}, {batchnorm: {eps: 0, momentum: 7}}, {batchnorm: {eps: -1e-3, momentum: 1}}]
    |                                                       ^
help: it keeps the division by the standard deviation finite: use a small positive number such as 1e-5
spec.yaml:9:68: error: 'momentum' of 'batchnorm' must be between 0 and 1, got 7.0
  9 | stem: [{conv: {out: 2, kernel: 3}}, {batchnorm: {eps: 0, momentum: 7}}, {batchnorm: {eps: -1e-3, momentum: 1}}]
    |                                                                    ^
help: the running statistics move this fraction of the way to each batch's: use e.g. 0.1, as PyTorch
spec.yaml:9:91: error: 'eps' of 'batchnorm' must be positive, got -0.001
  9 | stem: [{conv: {out: 2, kernel: 3}}, {batchnorm: {eps: 0, momentum: 7}}, {batchnorm: {eps: -1e-3, momentum: 1}}]
    |                                                                                           ^~~~~
help: it keeps the division by the standard deviation finite: use a small positive number such as 1e-5

"""#)
    }

    /// Leaky ReLU's slope is 0 through 1 (its backward reads the output's sign), with its own help;
    /// in range, the layer is PyTorch's LeakyReLU, counted as `leaky1`.
    @Test func leakyReluSlopeIsChecked() throws {
        let r = rendered(#"""
netc: 1
name: t
input: {channels: 1, size: 8}
layers: [{conv: {out: 2, kernel: 3}}, {leaky_relu: {slope: 1.5}}, {leaky_relu: {slope: -0.1}}, flatten]

"""#)
        #expect(r.succeeded == false)
        #expect(r.text == #"""
spec.yaml:4:60: error: 'slope' of 'leaky_relu' must be between 0 and 1, got 1.5
  4 | layers: [{conv: {out: 2, kernel: 3}}, {leaky_relu: {slope: 1.5}}, {leaky_relu: {slope: -0.1}}, flatten]
    |                                                            ^~~
help: it scales the negative part: use e.g. 0.01 (PyTorch's default) or 0.1 (Darknet's)
spec.yaml:4:88: error: 'slope' of 'leaky_relu' must be between 0 and 1, got -0.1
  4 | layers: [{conv: {out: 2, kernel: 3}}, {leaky_relu: {slope: 1.5}}, {leaky_relu: {slope: -0.1}}, flatten]
    |                                                                                        ^~~~
help: it scales the negative part: use e.g. 0.01 (PyTorch's default) or 0.1 (Darknet's)

"""#)
        let graph = try #require(Compiler.compile(source: "netc: 1\nname: t\ninput: {channels: 1, size: 8}\nlayers: [{conv: {out: 2, kernel: 3}}, {leaky_relu: {slope: 0.1}}, leaky_relu]\n",
                                                  file: "t.yaml").graph)
        let leaky = graph.nodes.compactMap { n in (n.op as? LeakyReLU).map { (n.name, $0.slope, n.op.kindName) } }
        #expect(leaky.map(\.0) == ["layers.leaky1", "layers.leaky2"] && leaky.map(\.1) == [0.1, 0.01] && leaky.allSatisfy { $0.2 == "LeakyReLU" })
    }

    /// A spec path naming a FIFO or a device was "cannot read the file; check its permissions".
    @Test func aSpecPathThatIsADeviceOrAFIFOSaysWhatItIs() throws {
        let c = Compiler.compile(path: "/dev/zero")
        #expect(c.renderDiagnostics() == "error: /dev/zero is a character device, not a spec file\nhelp: give the path of a YAML file\n")
        let fifo = FileManager.default.temporaryDirectory.appendingPathComponent("netc-spec-fifo-\(UUID().uuidString)").path
        #expect(mkfifo(fifo, 0o644) == 0)
        defer { unlink(fifo) }
        #expect(Compiler.compile(path: fifo).renderDiagnostics() == "error: \(fifo) is a FIFO, not a spec file\nhelp: give the path of a YAML file\n")
    }

    /// A stage's stride given to a block that never reads $stride (directly or through a block it
    /// uses as a layer) was dropped in silence: a "downsampling" stage that kept the map's size.
    @Test func aStrideNoLayerReadsIsAWarning() {
        let r = rendered(#"""
netc: 1
name: t
input: {channels: 1, size: 8}
classes: 3
blocks:
  plain:
    body: [{conv: {out: $channels, kernel: 3, pad: 1}}, batchnorm]
    shortcut: {projection: [{conv: {out: $channels, kernel: 1}}]}
  outer:
    body: [{plain: {channels: $channels}}]
stages:
  - {block: plain, depth: 1, channels: 4, stride: 2}
  - {block: outer, depth: 1, channels: 4, stride: 2}
  - {block: residual, depth: 1, channels: 4, stride: 2}
head: [global_avgpool, flatten, {linear: {out: $classes}}]

"""#)
        #expect(r.succeeded)
        #expect(r.text == #"""
spec.yaml:12:51: warning: stage 0 has stride 2, but block 'plain' uses no $stride: its blocks do not downsample
  12 |   - {block: plain, depth: 1, channels: 4, stride: 2}
     |                                                   ^
help: pass $stride to a layer of the block (e.g. 'conv: {..., stride: $stride}'), or drop the stride
spec.yaml:13:51: warning: stage 1 has stride 2, but block 'outer' uses no $stride: its blocks do not downsample
  13 |   - {block: outer, depth: 1, channels: 4, stride: 2}
     |                                                   ^
help: pass $stride to a layer of the block (e.g. 'conv: {..., stride: $stride}'), or drop the stride

"""#)
    }
}
