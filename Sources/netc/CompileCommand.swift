import ArgumentParser
import Foundation
import NetcIR
import NetcRuntime
import NetcSpec
import NetcTrain

struct CompileCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "compile",
        abstract: "Compile a spec to the program netc runs, and show what each layer became.",
        discussion: """
            With --infer, the inference program: batch norms folded into the convs before them, \
            residual joins and ReLUs fused into the kernels that produce their inputs, memory \
            planned for step outputs only. Without it, the training program: each batch norm \
            applies the ReLU after it, forward and backward, and the plan keeps what backward \
            needs. --explain prints one line a step: \
            the kernel, its algorithm, what was fused into it and where its output lives.
            """)

    @Argument(help: "A spec file or bundled architecture name (default: resnet18).")
    var spec: String?

    @Flag(help: "The inference program (default: the training program).") var infer = false
    @Flag(help: "Print each step: algorithm, fused layers, output buffer.") var explain = false
    @Option(parsing: .unconditional, help: "Batch size the memory figures are for.") var batch: Int = 1
    @Option(parsing: .unconditional, help: "Input size (default: the spec's).") var size: Int?

    func validate() throws {
        try RecipeFlags.check("batch", RecipeLimits.count(batch))
        try RecipeFlags.check("size", size.flatMap(RecipeLimits.boundedCount))
    }

    func run() throws {
        try reportingErrors {
            let graph = try SpecArgument.graph(spec, size: size)
            try MemoryBudget.check(graph, batch: batch, training: !infer, advice: .flags(batch: "--batch", resize: "--size"))
            let program = infer ? Program.inference(graph, batch: batch) : Program.training(graph, batch: batch)
            let plan = infer ? InferencePlan(program: program, batchSize: batch) : nil
            if explain {
                print(program.explain(plan: plan), terminator: "")
            } else {
                print("\(graph.name): \(program.steps.count) steps for \(graph.nodes.count) nodes"
                      + (program.passes.isEmpty ? "" : " after \(program.passes.joined(separator: ", "))"))
            }
        }
    }
}
