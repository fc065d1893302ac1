import ArgumentParser
import Foundation
import NetcSpec
import NetcTrain

struct StepCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "step",
        abstract: "Take one optimizer step on a given batch and save the updated weights.",
        discussion: """
            For comparing numbers with other frameworks (scripts/compare_pytorch.py): the same \
            weights and batch in PyTorch and netc must give the same updated weights.
            """)

    @Argument(help: "A spec file or bundled architecture name.") var spec: String
    @Option(help: "Weights to start from (safetensors).") var weights: String
    @Option(help: "Input batch: float32 .npy of shape [N, C, H, W].") var input: String
    @Option(help: "Labels: .npy of N class indices (stored as float32).") var labels: String
    @Option(help: "The optimizer: sgd or adamw.") var optimizer: String = "sgd"
    @Option(parsing: .unconditional, help: "Learning rate (default: the optimizer's, 0.01 for SGD, 0.001 for AdamW).") var lr: Double?
    @Option(parsing: .unconditional, help: "SGD momentum, at least 0 and below 1.") var momentum: Double = 0
    @Option(name: .customLong("weight-decay"), parsing: .unconditional,
            help: "Weight decay (default: the optimizer's, 0 for SGD, 0.01 for AdamW).") var weightDecay: Double?
    @Option(help: "Where to write the updated weights (safetensors).") var output: String
    @Flag(name: .customLong("no-dropout"), help: "Dropout passes values through (to compare with another framework's step, whose masks differ).")
    var noDropout = false

    func validate() throws {
        _ = try RecipeFlags.optimizer(optimizer)
        try RecipeFlags.check("lr", lr.flatMap(RecipeLimits.learningRate))
        try RecipeFlags.check("momentum", RecipeLimits.momentum(momentum))
        try RecipeFlags.check("weight-decay", weightDecay.flatMap(RecipeLimits.weightDecay))
    }

    /// The optimizer's defaults with the flags over them.
    var recipe: TrainSpec {
        var t = TrainSpec.defaults(for: (try? RecipeFlags.optimizer(optimizer)) ?? .sgd)
        if let lr { t.lr = lr }
        if let weightDecay { t.weightDecay = weightDecay }
        t.momentum = momentum
        return t
    }

    func run() throws {
        try reportingErrors {
            let x = try InputBatch.read(input), y = try NPY.read(labels)
            let evaluation = try Evaluation(compile: { SpecArgument.compile(spec, input: $0) }, weights: weights, input: x)
            for w in evaluation.warnings { printError("warning: \(w)\n") }
            let loss = try evaluation.step(x, labels: y, labelsSource: labels, recipe: recipe, dropout: !noDropout, saveTo: output)
            print(String(format: "loss %.6f", loss))
        }
    }
}
