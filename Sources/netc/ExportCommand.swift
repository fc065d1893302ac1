import ArgumentParser
import NetcIR
import NetcRuntime
import NetcSpec
import NetcTrain

struct ExportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Write a network and its weights as an ONNX model, or as a PyTorch state_dict.",
        discussion: """
            --format onnx (the default for an .onnx file): ONNX opset \(ONNXExport.opset), a dynamic \
            batch axis, one node per layer named after it. Each batch norm after a convolution is \
            folded into it, as inference runtimes do; --keep-bn keeps BatchNormalization nodes. \
            --format pytorch (the default for a .safetensors file): the weights and batch-norm \
            statistics as a safetensors state_dict under the spec's pytorch_names (torchvision's \
            for the bundled ImageNet specs, the d2l model's for the chapter's), which \
            load_state_dict(strict=True) accepts; no optimizer state. Without --weights the \
            weights are freshly initialised (the spec's recipe's initialisation and seed), with a \
            warning.
            """)

    enum Format: String, ExpressibleByArgument, CaseIterable { case onnx, pytorch }

    @Argument(help: "A spec file or bundled architecture name (default: resnet18).")
    var spec: String?

    @Option(help: "Trained weights (a netc checkpoint or safetensors file).") var weights: String?
    @Option(name: .shortAndLong, help: "Where to write the model (.onnx) or the state_dict (.safetensors).") var output: String
    @Option(help: "onnx or pytorch (default: from the output's extension).") var format: Format?
    @Flag(help: "Keep batch norms as BatchNormalization nodes instead of folding them into the convolutions.")
    var keepBn = false
    @Option(parsing: .unconditional, help: "Input size (default: the spec's, or the size the weights were trained at).")
    var size: Int?

    func validate() throws {
        try RecipeFlags.check("size", size.flatMap(RecipeLimits.boundedCount))
        let ext = output.lowercased().hasSuffix(".onnx") ? Format.onnx : output.lowercased().hasSuffix(".safetensors") ? .pytorch : nil
        guard let ext, format == nil || format == ext else {
            throw ValidationError("-o '\(output)' does not fit --format \((format ?? .onnx).rawValue): write an ONNX model to a .onnx file, a PyTorch state_dict to a .safetensors file")
        }
    }

    var chosenFormat: Format { format ?? (output.lowercased().hasSuffix(".onnx") ? .onnx : .pytorch) }

    func run() throws {
        try reportingErrors {
            let graph: Graph, store: ParameterStore, steps: Int
            if let weights {
                let evaluation = try Evaluation(compile: { SpecArgument.compile(spec, input: $0) }, weights: weights, resize: size)
                evaluation.warnings.forEach { printError("warning: \($0)\n") }
                (graph, store, steps) = (evaluation.graph, evaluation.store, evaluation.stepsTrained)
            } else {
                graph = try SpecArgument.graph(spec, size: size)
                let options = TrainingOptions(spec: try SpecArgument.compile(spec).spec?.train)
                store = ParameterStore(graph: graph)
                store.initialize(InitScheme(rawValue: options.initializer.rawValue) ?? .xavier, seed: UInt64(options.seed), graph: graph)
                steps = 0
                printError("warning: no --weights: \(output) holds freshly initialised weights (\(options.initializer.rawValue), seed \(options.seed))\n")
            }
            if chosenFormat == .pytorch {
                let naming = try SpecArgument.compile(spec).pytorchNames
                try Checkpoint.stateDict(store, naming: naming, batchesTracked: steps).write(to: output)
                print("\(graph.name): \(store.entries.count) tensors written to \(output) as a PyTorch state_dict"
                      + (naming == nil ? " under netc's names (the spec has no pytorch_names)" : " under the spec's pytorch_names"))
                return
            }
            let model = ONNXExport(graph: graph, store: store, keepBatchNorm: keepBn)
            try BinaryFile.writeAtomically(output, bytes: model.encoded(producerVersion: NetcVersion.string))
            print("\(graph.name): \(graph.inputShape) -> \(graph.outputShape), written to \(output) (ONNX opset \(ONNXExport.opset)\(keepBn ? "" : ", batch norms folded"))")
        }
    }
}
