import Foundation
import NetcIR
import NetcRuntime
import NetcSpec

/// A spec with trained weights loaded, for `netc eval`, `netc run` and `netc step`.
public struct Evaluation {
    public let graph: Graph
    public let store: ParameterStore
    public let options: TrainingOptions
    /// The spec text the checkpoint carries.
    public let specText: String
    /// The file the weights came from, with any optimizer state a step continues from.
    let checkpoint: Checkpoint.Contents, checkpointPath: String
    /// What the caller should tell the user (e.g. that the given spec's text differs from the
    /// checkpoint's though the network is the same).
    public let warnings: [String]

    /// Loads `weights` into the spec's graph, at the input size the checkpoint's recipe trained at
    /// (or `resize`, or the size of the `input` batch). `compile` compiles the spec at a given
    /// input size (nil: its declared one); see `compileResized`.
    ///
    /// Refused: a checkpoint whose own spec describes another network, tensors missing, misshapen
    /// or unused, and an input batch whose images have another channel count than the spec's.
    public init(compile: (Shape?) -> Compilation, weights: String, resize: Int? = nil, data: String? = nil,
                input: InputBatch? = nil) throws {
        var contents = try Checkpoint.read(weights)
        let declared = compile(nil)
        // A checkpoint with weights only (written by another tool) trained at the spec's recipe
        // as far as anyone knows: a `resize: 28` spec is evaluated at 28.
        var options = contents.options ?? TrainingOptions(spec: declared.spec?.train)
        if let resize { options.resize = resize }
        if let data { options.dataDirectory = data }
        if let input, let g = declared.graph, declared.succeeded { try input.check(channels: g.inputShape.channels, network: g.name) }
        let recipe = contents.options != nil ? "the checkpoint's recipe" : "the spec's recipe"
        let size = input.map(InputSizeRequest.images(of:)) ?? options.resize.map {
            .square($0, from: resize != nil ? "--resize \($0)" : "\(recipe) (resize: \($0))", flag: "--resize")
        }
        let (compilation, graph) = try compileResized(declared, to: size, recompile: compile)
        let warning = try CheckpointSpecAgreement.check(graph, given: compilation, checkpoint: contents, weights: weights)
        self.graph = graph
        self.options = options
        specText = contents.spec ?? compilation.source
        store = ParameterStore(graph: graph)
        // A plain state_dict may carry PyTorch's names: the spec's `pytorch_names` say which.
        if contents.spec == nil, let naming = compilation.pytorchNames {
            contents.file.tensors = try Checkpoint.netcNames(contents.file.tensors, store: store, naming: naming)
        }
        (checkpoint, checkpointPath) = (contents, weights)
        warnings = warning.map { [$0] } ?? []
        do {
            try Checkpoint.load(contents, into: store, source: weights)
        } catch let error as TrainingError {
            // A linear layer after flatten has as many inputs as the map has pixels: weights that
            // fit the declared size but not this one are the images' fault, not the weights'.
            guard let size, let declaredGraph = declared.graph, graph.inputShape != declaredGraph.inputShape,
                  (try? Checkpoint.load(contents, into: ParameterStore(graph: declaredGraph), source: weights)) != nil else { throw error }
            let (h, w) = (declaredGraph.inputShape.height, declaredGraph.inputShape.width)
            throw TrainingError("\(weights) holds \(declaredGraph.name)'s weights for \(h)x\(w) images; its parameters' shapes depend on the image size (a linear layer reads a flattened map), so they do not fit \(size.height)x\(size.width) images, the size from \(size.source)",
                                help: input == nil && h == w ? "evaluate at that size: --resize \(h)" : "resize the images to \(h)x\(w)")
        }
    }

    /// Optimizer steps the weights were trained for (0 when the file does not say).
    public var stepsTrained: Int { checkpoint.position?.step ?? 0 }

    /// Mean loss, accuracy and image count on the test split.
    public func testSet(batch: Int) throws -> (loss: Double, accuracy: Double, count: Int) {
        if let problem = RecipeLimits.count(batch) { throw TrainingError("the batch \(problem)", help: "a batch holds at least one image") }
        try MemoryBudget.check(graph, batch: batch, training: false, advice: .flags(batch: "--batch", resize: "--resize"))
        let test = try DatasetFormats.load(try options.resolvedDataDirectory(), split: .test, for: graph)
        let interpreter = Interpreter(graph: graph, store: store, batchSize: batch)
        let batcher = ImageBatcher(dataset: test, resizeTo: options.resize ?? graph.inputShape.height, transforms: try normalization())
        let r = Trainer.evaluate(interpreter, batcher, images: 0..<test.count, batch: batch)!   // nothing stops it
        return (r.loss, r.accuracy, test.count)
    }

    /// Logits `[N, K]` for an NCHW batch, in evaluation mode.
    public func logits(_ input: InputBatch) throws -> [Float] {
        try MemoryBudget.check(graph, batch: input.count, training: false, advice: Self.advice(splitting: input))
        let interpreter = Interpreter(graph: graph, store: store, batchSize: input.count)
        interpreter.forward(input.values, training: false)
        return interpreter.logits()
    }

    /// One training-mode step of `recipe`'s optimizer on a batch, continuing from the optimizer
    /// state in the weights' file if it holds any; writes the updated weights (and state) as a
    /// checkpoint and returns the batch's loss before the step. `labels` are class indices
    /// stored as float32, one per image, read from `labelsSource`.
    public func step(_ input: InputBatch, labels: NPYArray, labelsSource: String, recipe: TrainSpec,
                     dropout: Bool = true, saveTo path: String) throws -> Double {
        let optimizer = makeOptimizer(recipe, for: store)
        try Checkpoint.load(checkpoint, into: store, optimizer: optimizer, source: checkpointPath)
        guard labels.shape.count == 1, labels.shape[0] == input.count else {
            throw TrainingError("\(labelsSource) has shape \(labels.shape), but \(input.source) holds \(input.count) image(s)",
                                help: "save one label per image, a 1-d array of \(input.count)")
        }
        let classes = try ClassLabels.indices(labels.data, classes: try ClassLabels.requireClassifier(graph), source: labelsSource)
        try MemoryBudget.check(graph, batch: input.count, training: true, advice: Self.advice(splitting: input))
        let interpreter = Interpreter(graph: graph, store: store, batchSize: input.count)
        interpreter.dropoutEnabled = dropout
        interpreter.forward(input.values, training: true)
        let loss = interpreter.loss(labels: classes).loss
        interpreter.backward()
        guard loss.isFinite else {
            throw TrainingError("the loss on this batch is \(loss); no step was taken", help: "check the weights and the images")
        }
        optimizer.step(learningRate: recipe.lr)
        // Weights a huge --lr sent past Float's range are not written: no netc would load them.
        for (i, e) in store.entries.enumerated() {
            if let j = store.value(at: i).firstIndex(where: { !$0.isFinite }) {
                throw TrainingError("the step made '\(e.name)' non-finite (\(store.value(at: i)[j]) at index \(j)); nothing was written",
                                    help: "lower --lr (\(recipe.lr)) or --weight-decay")
            }
        }
        try Checkpoint.save(to: path, store: store, optimizer: optimizer, spec: specText, options: options, state: TrainingState(step: 1))
        return loss
    }

    /// The normalisation the weights were trained with. A checkpoint netc trained records the
    /// measured statistics; only a weights-only file may still say `computed`, measured here on
    /// the training set as the run would have.
    func normalization() throws -> ImageTransforms {
        guard let normalize = options.normalize else { return .none }
        var statistics: (mean: [Float], std: [Float])
        switch normalize {
        case .given(let mean, let std): statistics = (mean.map(Float.init), std.map(Float.init))
        case .computed:
            let directory = try options.resolvedDataDirectory()
            statistics = try normalize.values(for: DatasetFormats.load(directory, split: .train, for: graph), source: "the data in \(directory)")
        }
        guard statistics.mean.count == graph.inputShape.channels else {
            throw TrainingError("the recipe normalises \(statistics.mean.count) channel(s), but \(graph.name) takes \(graph.inputShape.channels)",
                                help: "give 'normalize' one mean and std per input channel")
        }
        return ImageTransforms(augment: nil, mean: statistics.mean, std: statistics.std, seed: 0)
    }

    /// Image files as a batch the network takes: decoded to its channels, resized to its input
    /// (the size the checkpoint trained at), scaled as `ToTensor` and normalised as the recipe did.
    public func batch(ofImages paths: [String]) throws -> InputBatch {
        let input = graph.inputShape
        guard input.channels == 1 || input.channels == 3 else {
            throw TrainingError("\(graph.name) takes \(input.channels)-channel images; image files decode to 1 (gray) or 3 (RGB)",
                                help: "give the images as a float32 .npy batch (--input)")
        }
        let images = try paths.map { try ImageFile(path: $0, channels: input.channels) }
        let set = try ImageSet(images, paths: paths, labels: paths.map { _ in 0 }, input: input, keepingACommonSize: false)
        let batch = ImageBatcher(dataset: set, transforms: try normalization()).batch(indices: 0..<set.count)
        return try InputBatch(NPYArray(shape: batch.shape, data: batch.images), source: paths.count == 1 ? paths[0] : "the images")
    }

    /// `netc run` and `netc step` take their batch and image size from the input file.
    static func advice(splitting input: InputBatch) -> MemoryAdvice {
        MemoryAdvice(batch: { "split \(input.source) into batches of at most \($0)" },
                     smallerImages: "resize \(input.source)'s images")
    }

}
