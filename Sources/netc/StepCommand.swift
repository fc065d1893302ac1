import ArgumentParser
import Foundation
import NetcSpec
import NetcTrain

struct StepCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "step",
        abstract: "Take one SGD step on a given batch and save the updated weights.",
        discussion: """
            For comparing numbers with other frameworks (scripts/compare_pytorch.py): the same
            weights and batch in PyTorch and netc must give the same updated weights.
            """)

    @Argument(help: "A spec file or bundled architecture name.") var spec: String
    @Option(help: "Weights to start from (safetensors).") var weights: String
    @Option(help: "Input batch: float32 .npy of shape [N, C, H, W].") var input: String
    @Option(help: "Labels: .npy of N class indices (stored as float32).") var labels: String
    @Option(parsing: .unconditional, help: "Learning rate.") var lr: Double = 0.01
    @Option(parsing: .unconditional, help: "SGD momentum, at least 0 and below 1.") var momentum: Double = 0
    @Option(name: .customLong("weight-decay"), parsing: .unconditional, help: "L2 penalty.") var weightDecay: Double = 0
    @Option(help: "Where to write the updated weights (safetensors).") var output: String

    func validate() throws {
        try RecipeFlags.check("lr", RecipeLimits.learningRate(lr))
        try RecipeFlags.check("momentum", RecipeLimits.momentum(momentum))
        try RecipeFlags.check("weight-decay", RecipeLimits.weightDecay(weightDecay))
    }

    func run() throws {
        try reportingErrors {
            let x = try InputBatch.read(input), y = try NPY.read(labels)
            let evaluation = try Evaluation(compile: { SpecArgument.compile(spec, input: $0) }, weights: weights, input: x)
            for w in evaluation.warnings { printError("warning: \(w)\n") }
            let loss = try evaluation.sgdStep(x, labels: y, labelsSource: labels, lr: lr, momentum: momentum,
                                              weightDecay: weightDecay, saveTo: output)
            print(String(format: "loss %.6f", loss))
        }
    }
}
