import ArgumentParser
import Foundation
import NetcSpec
import NetcTrain

struct EvalCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "eval",
        abstract: "Print test accuracy and loss of trained weights on the test set.")

    @Argument(help: "A spec file or bundled architecture name.")
    var spec: String

    @Option(help: "A checkpoint written by 'netc train' (checkpoint.safetensors).")
    var weights: String

    @Option(help: "Directory of IDX files (default: the recipe's dataset).") var data: String?
    @Option(parsing: .unconditional, help: "Resize images to this size (default: the checkpoint's recipe).") var resize: Int?
    @Option(parsing: .unconditional, help: "Images per forward pass.") var batch: Int = 500

    func validate() throws {
        try RecipeFlags.check("batch", RecipeLimits.count(batch))
        try RecipeFlags.check("resize", resize.flatMap(RecipeLimits.boundedCount))
        try RecipeFlags.checkPaths([("weights", weights), ("data", data)])
    }

    func run() throws {
        try reportingErrors {
            let evaluation = try Evaluation(compile: { SpecArgument.compile(spec, input: $0) }, weights: weights, resize: resize, data: data)
            for w in evaluation.warnings { printError("warning: \(w)\n") }
            let (loss, accuracy, count) = try evaluation.testSet(batch: batch)
            print(String(format: "%@: test accuracy %.4f, loss %.4f (%d images)", evaluation.graph.name, accuracy, loss, count))
        }
    }
}
