import Testing
import NetcIR
@testable import NetcRuntime

/// The bytes a plan needs are known before it is made (the plan and its count agree exactly),
/// and a batch that cannot fit is refused with the figure and the largest batch that can.
struct MemoryBudgetTests {
    @Test(arguments: [1, 3, 64], [true, false])
    func planBytesAreKnownBeforeAllocating(batch: Int, training: Bool) {
        for graph in [compile(tinySpec), architecture("resnet18")] {
            let plan = ExecutionPlan(graph: graph, batchSize: batch, training: training)
            #expect(ExecutionPlan.bytes(graph: graph, batchSize: batch, training: training) == plan.plannedBytes)
        }
        let store = ParameterStore(graph: compile(tinySpec))
        #expect(ParameterStore.bytes(of: compile(tinySpec)) == store.bytes)
    }

    /// An inference run is budgeted by the compiled program's plan, the one that will run.
    @Test(arguments: [1, 3, 64])
    func inferenceIsBudgetedByTheCompiledPlan(batch: Int) {
        for graph in [compile(tinySpec), architecture("resnet18")] {
            let plan = InferencePlan(program: Program.inference(graph, batch: batch), batchSize: batch)
            #expect(MemoryBudget.bytes(graph, batch: batch, training: false)?.plan == plan.plannedBytes)
        }
        #expect(MemoryBudget.bytes(architecture("resnet18"), batch: .max / 2, training: false) == nil)
    }

    @Test func anOverflowingBatchIsCountedAsNil() {
        #expect(ExecutionPlan.bytes(graph: architecture("resnet18"), batchSize: .max / 2, training: true) == nil)
    }

    @Test func aBatchThatCannotFitIsRefusedWithTheLargestThatCan() {
        let graph = compile(tinySpec)
        let limit = MemoryBudget.total(graph, batch: 100, training: true)!
        #expect(MemoryBudget.largestBatch(graph, training: true, within: limit) == 100)
        do {
            try MemoryBudget.check(graph, batch: 1_000_000, training: true, limit: limit, advice: .flags(batch: "--batch", resize: "--resize"))
            Issue.record("expected a refusal")
        } catch {
            #expect("\(error)" == """
                training tiny on 1x8x8 images in batches of 1000000 needs 14.1 GiB (plan 13.9 GiB, parameters and optimizer state 42.2 KiB, input batch 248.0 MiB), but this machine has 2.4 MiB of memory
                help: the largest batch that fits is 100 (--batch 100)
                """)
        }
        #expect(throws: Never.self) {
            try MemoryBudget.check(graph, batch: 100, training: true, limit: limit, advice: .flags(batch: "--batch", resize: "--resize"))
        }
    }

    /// The advice is the caller's: `netc run` has no --batch or --resize, only its input file.
    @Test func theAdviceIsInTheCallersWords() {
        let graph = compile(tinySpec)
        let advice = MemoryAdvice(batch: { "split x.npy into batches of at most \($0)" }, smallerImages: "resize x.npy's images")
        let limit = MemoryBudget.total(graph, batch: 100, training: false)!
        let tooMany = #expect(throws: MemoryBudgetError.self) {
            try MemoryBudget.check(graph, batch: 1000, training: false, limit: limit, advice: advice)
        }
        #expect(tooMany?.help == "the largest batch that fits is 100 (split x.npy into batches of at most 100)")
        let noneFits = #expect(throws: MemoryBudgetError.self) {
            try MemoryBudget.check(graph, batch: 1, training: false, limit: 1024, advice: advice)
        }
        #expect(noneFits?.help == "not even one 1x8x8 image fits: resize x.npy's images or use a smaller network")
    }
}
