import ArgumentParser
import Foundation
import NetcTrain

struct RunCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run inference on an NCHW float32 .npy batch and write the logits as .npy.",
        discussion: "Lets other frameworks compare outputs number for number: the logits are [N, classes] float32.")

    @Argument(help: "A spec file or bundled architecture name.")
    var spec: String

    @Option(help: "A checkpoint written by 'netc train' (checkpoint.safetensors).")
    var weights: String

    @Option(help: "Input batch: float32 .npy of shape [N, C, H, W].")
    var input: String

    @Option(help: "Where to write the logits (.npy, [N, classes]; [N, C, H, W] if the network ends on a map).")
    var output: String

    func run() throws {
        try reportingErrors {
            let x = try InputBatch.read(input)
            let evaluation = try Evaluation(compile: { SpecArgument.compile(spec, input: $0) }, weights: weights, input: x)
            for w in evaluation.warnings { printError("warning: \(w)\n") }
            let logits = try evaluation.logits(x)
            // [N, classes], or [N, C, H, W] for a network that ends on a map (its values are NCHW).
            try NPY.write(NPYArray(shape: [x.count] + evaluation.graph.outputShape.dims, data: logits), to: output)
        }
    }
}
