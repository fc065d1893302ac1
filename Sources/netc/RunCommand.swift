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

    @Option(help: "Where to write the logits (.npy, [N, classes]).")
    var output: String

    func run() throws {
        try reportingErrors {
            let x = try NPY.read(input)
            guard x.shape.count == 4 else {
                throw TrainingError("\(input) has shape \(x.shape); netc run takes [N, C, H, W]")
            }
            let evaluation = try Evaluation(compile: { SpecArgument.compile(spec, input: $0) }, weights: weights, input: Array(x.shape.dropFirst()))
            let logits = evaluation.logits(x.data, batch: x.shape[0])
            try NPY.write(NPYArray(shape: [x.shape[0], logits.count / max(x.shape[0], 1)], data: logits), to: output)
        }
    }
}
