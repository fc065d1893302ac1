import ArgumentParser
import Foundation
import NetcTrain

struct RunCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Classify image files, or run inference on an NCHW float32 .npy batch and write the logits as .npy.",
        discussion: """
            With image files (PNG or JPEG), prints each one's most likely classes: the images are \
            decoded to the network's channels, resized to the size its weights were trained at and \
            normalised as the recipe did. With --input and --output, writes the logits [N, classes] \
            as float32, so that other frameworks can compare outputs number for number.
            """)

    @Argument(help: "A spec file or bundled architecture name.")
    var spec: String

    @Argument(help: "PNG or JPEG files to classify.")
    var images: [String] = []

    @Option(help: "A checkpoint written by 'netc train' (checkpoint.safetensors).")
    var weights: String

    @Option(help: "Input batch: float32 .npy of shape [N, C, H, W].")
    var input: String?

    @Option(help: "Where to write the logits (.npy, [N, classes]; [N, C, H, W] if the network ends on a map).")
    var output: String?

    @Option(help: "How many classes to print for each image.")
    var top: Int = 3

    func validate() throws {
        guard images.isEmpty != (input == nil) else {
            throw ValidationError(images.isEmpty ? "give image files to classify, or --input x.npy --output logits.npy"
                                                 : "give image files or --input, not both")
        }
        if input != nil, output == nil { throw ValidationError("--input needs --output: where to write the logits") }
        try RecipeFlags.check("top", top < 1 ? "must be at least 1, got \(top)" : nil)
    }

    func run() throws {
        try reportingErrors {
            if let input, let output {
                let x = try InputBatch.read(input)
                let evaluation = try Evaluation(compile: { SpecArgument.compile(spec, input: $0) }, weights: weights, input: x)
                for w in evaluation.warnings { printError("warning: \(w)\n") }
                let logits = try evaluation.logits(x)
                // [N, classes], or [N, C, H, W] for a network that ends on a map (its values are NCHW).
                try NPY.write(NPYArray(shape: [x.count] + evaluation.graph.outputShape.dims, data: logits), to: output)
                return
            }
            let evaluation = try Evaluation(compile: { SpecArgument.compile(spec, input: $0) }, weights: weights)
            for w in evaluation.warnings { printError("warning: \(w)\n") }
            let x = try evaluation.batch(ofImages: images)
            let logits = try evaluation.logits(x), classes = logits.count / x.count
            let names = ClassNames.of(evaluation.options, classes: classes)
            for (i, path) in images.enumerated() {
                let row = logits[i * classes ..< (i + 1) * classes]
                let largest = row.max() ?? 0, exps = row.map { Foundation.exp(Double($0 - largest)) }, total = exps.reduce(0, +)
                let ranked = exps.indices.sorted { exps[$0] > exps[$1] }.prefix(top)
                print("\(path): " + ranked.map { String(format: "%@ %.3f", names[$0], exps[$0] / total) }.joined(separator: ", "))
            }
        }
    }
}
