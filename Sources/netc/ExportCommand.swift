import ArgumentParser
import NetcIR
import NetcRuntime
import NetcSpec
import NetcTrain

struct ExportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Write a network and its weights as an ONNX model for inference.",
        discussion: """
            ONNX opset \(ONNXExport.opset), a dynamic batch axis, one node per layer named after it. \
            Each batch norm after a convolution is folded into it, as inference runtimes do; \
            --keep-bn keeps BatchNormalization nodes. Without --weights the model carries freshly \
            initialised weights (the spec's recipe's initialisation and seed), with a warning.
            """)

    @Argument(help: "A spec file or bundled architecture name (default: resnet18).")
    var spec: String?

    @Option(help: "Trained weights (a netc checkpoint or safetensors file).") var weights: String?
    @Option(name: .shortAndLong, help: "Where to write the model (.onnx).") var output: String
    @Flag(help: "Keep batch norms as BatchNormalization nodes instead of folding them into the convolutions.")
    var keepBn = false
    @Option(parsing: .unconditional, help: "Input size (default: the spec's, or the size the weights were trained at).")
    var size: Int?

    func validate() throws {
        try RecipeFlags.check("size", size.flatMap(RecipeLimits.boundedCount))
        guard output.lowercased().hasSuffix(".onnx") else {
            throw ValidationError("-o '\(output)' is not an .onnx file: ONNX models end in .onnx")
        }
    }

    func run() throws {
        try reportingErrors {
            let graph: Graph, store: ParameterStore
            if let weights {
                let evaluation = try Evaluation(compile: { SpecArgument.compile(spec, input: $0) }, weights: weights, resize: size)
                evaluation.warnings.forEach { printError("warning: \($0)\n") }
                (graph, store) = (evaluation.graph, evaluation.store)
            } else {
                graph = try SpecArgument.graph(spec, size: size)
                let options = TrainingOptions(spec: try SpecArgument.compile(spec).spec?.train)
                store = ParameterStore(graph: graph)
                store.initialize(InitScheme(rawValue: options.initializer.rawValue) ?? .xavier, seed: UInt64(options.seed), graph: graph)
                printError("warning: no --weights: \(output) holds freshly initialised weights (\(options.initializer.rawValue), seed \(options.seed))\n")
            }
            let model = ONNXExport(graph: graph, store: store, keepBatchNorm: keepBn)
            try BinaryFile.writeAtomically(output, bytes: model.encoded(producerVersion: NetcVersion.string))
            print("\(graph.name): \(graph.inputShape) -> \(graph.outputShape), written to \(output) (ONNX opset \(ONNXExport.opset)\(keepBn ? "" : ", batch norms folded"))")
        }
    }
}
