import Foundation
import Testing
import NetcIR
import NetcSpec
import NetcKernels
import NetcRuntime

/// The tiny network of every block type (residual, bottleneck, grouped resnext, preact).
let tinySpec = """
netc: 1
name: tiny
input: {channels: 1, size: 8}
classes: 3
stem: [{conv: {out: 4, kernel: 3, pad: 1}}, batchnorm, relu]
stages:
  - {block: residual, depth: 1, channels: 4}
  - {block: bottleneck, depth: 1, channels: 8, stride: 2}
  - {block: resnext, depth: 1, channels: 8, bot_mul: 1, groups: 2}
  - {block: preact, depth: 1, channels: 6, stride: 2}
head: [global_avgpool, flatten, {linear: {out: $classes}}]
"""

/// The bundled graph-shaped blocks: squeeze-and-excitation (a mul), inverted residuals with and
/// without their join (an add layer), and Inception (four branches of the input, a concat).
let tinyGraphBlocksSpec = """
netc: 1
name: graph-blocks
input: {channels: 2, size: 6}
classes: 3
stem: [{conv: {out: 4, kernel: 3, pad: 1}}, batchnorm, relu]
stages:
  - {block: se_bottleneck, depth: 1, channels: 8, group_width: 4}
  - {block: inverted_residual, depth: 2, channels: 8, expansion: 2}
  - {block: inverted_residual, depth: 1, channels: 6, expansion: 1, stride: 2}
head:
  - inception: {c1: 2, c2_reduce: 2, c2: 3, c3_reduce: 1, c3: 2, c4: 2}
  - global_avgpool
  - flatten
  - linear: {out: $classes}
"""

func compile(_ source: String, file: String = "test.yaml") -> Graph {
    let c = Compiler.compile(source: source, file: file)
    guard let g = c.graph else { fatalError(c.renderDiagnostics()) }
    return g
}

/// A graph file from the repository's `architectures/` directory.
func architecture(_ name: String) -> Graph {
    let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    let url = root.appendingPathComponent("architectures/\(name).yaml")
    let text = try! String(contentsOf: url, encoding: .utf8)
    return compile(text, file: "\(name).yaml")
}

func randomFloats(_ count: Int, _ rng: inout SplitMix64, _ lo: Double = -1, _ hi: Double = 1) -> [Float] {
    (0..<count).map { _ in Float(rng.uniform(lo, hi)) }
}

/// Plain SGD on every trainable tensor: the runtime knows no optimizer (NetcTrain's own are
/// tested there), but its tests need weights that move.
func plainSGDStep(_ store: ParameterStore, learningRate: Float, momentum: Float = 0,
                  buffers: inout [Int: [Float]]) {
    store.noteChange()
    for (i, e) in store.entries.enumerated() where e.role == .trainable {
        var buffer = buffers[i] ?? [Float](repeating: 0, count: e.count)
        buffer.withUnsafeMutableBufferPointer { b in
            sgdStep(param: store.value(at: i), grad: UnsafeBufferPointer(store.gradient(at: i)), momentumBuffer: momentum == 0 ? nil : b,
                    learningRate: learningRate, momentum: momentum, isFirstStep: buffers[i] == nil)
        }
        if momentum != 0 { buffers[i] = buffer }
    }
}

func plainSGDStep(_ store: ParameterStore, learningRate: Float) {
    var none: [Int: [Float]] = [:]
    plainSGDStep(store, learningRate: learningRate, buffers: &none)
}
