import Foundation
import NetcIR
import NetcRuntime
import NetcSpec

/// A spec with trained weights loaded, for `netc eval` and `netc run`.
public struct Evaluation {
    public let graph: Graph
    public let store: ParameterStore
    public let options: TrainingOptions
    /// The spec text the checkpoint carries.
    public let specText: String

    /// Loads `weights` into the spec's graph, at the input size the checkpoint's recipe trained at
    /// (or `resize`, or an explicit `input` CxHxW). `compile` compiles the spec at a given input
    /// size (nil: its declared one).
    public init(compile: (Shape?) -> Compilation, weights: String, resize: Int? = nil, data: String? = nil,
                input: [Int]? = nil) throws {
        let contents = try Checkpoint.read(weights)
        var options = contents.options ?? TrainingOptions()
        if let resize { options.resize = resize }
        if let data { options.dataDirectory = data }
        var shape: Shape?
        if let input, input.count == 3 { shape = .map(input[0], input[1], input[2]) }
        var graph = try Self.graph(compile(shape))
        if shape == nil, let r = options.resize, graph.inputShape.height != r {
            graph = try Self.graph(compile(.map(graph.inputShape.channels, r, r)))
        }
        self.graph = graph
        self.options = options
        specText = contents.spec
        store = ParameterStore(graph: graph)
        try Checkpoint.load(contents, into: store, source: weights)
    }

    /// Mean loss, accuracy and image count on the test split.
    public func testSet(batch: Int) throws -> (loss: Double, accuracy: Double, count: Int) {
        let test = try IDXDataset.load(directory: try options.resolvedDataDirectory(), split: .test)
        let interpreter = Interpreter(graph: graph, store: store, batchSize: batch)
        let batcher = ImageBatcher(dataset: test, resizeTo: options.resize)
        let r = Trainer.evaluate(interpreter, batcher, count: test.count, batch: batch)
        return (r.loss, r.accuracy, test.count)
    }

    /// Logits `[N, K]` for an NCHW batch, in evaluation mode.
    public func logits(_ input: [Float], batch: Int) -> [Float] {
        let interpreter = Interpreter(graph: graph, store: store, batchSize: max(batch, 1))
        interpreter.forward(input, training: false)
        return interpreter.logits()
    }

    /// One training-mode SGD step on a batch; writes the updated weights as a checkpoint and
    /// returns the batch's loss before the step.
    public func sgdStep(_ input: [Float], labels: [Int32], lr: Double, momentum: Double, weightDecay: Double,
                        saveTo path: String) throws -> Double {
        let interpreter = Interpreter(graph: graph, store: store, batchSize: max(labels.count, 1))
        interpreter.forward(input, training: true)
        let loss = interpreter.loss(labels: labels).loss
        interpreter.backward()
        interpreter.sgdStep(learningRate: Float(lr), momentum: Float(momentum), weightDecay: Float(weightDecay))
        try Checkpoint.save(to: path, store: store, spec: specText, options: options, state: TrainingState(step: 1))
        return loss
    }

    static func graph(_ c: Compilation) throws -> Graph {
        guard let g = c.graph, c.succeeded else { throw TrainingError(c.renderDiagnostics()) }
        return g
    }
}
