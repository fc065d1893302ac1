import Dispatch
import NetcIR
import NetcKernels

// Runs an inference program step by step: each step is one kernel (with what the passes fused
// into it) over the plan's buffers.

extension Interpreter {
    /// Runs `program` on a batch in `plan`: no batch statistics, nothing kept for backward.
    /// `folded` holds the program's folded conv weights (nil if it folds none).
    func runInference(_ program: Program, plan: InferencePlan, folded: FoldedWeights?, input: UnsafeBufferPointer<Float>,
                      n: Int, checkFinite: Bool) {
        folded?.refresh(program, parameters: parameters, generation: store.generation)
        for (k, step) in program.steps.enumerated() {
            let t0 = profile == nil ? 0 : DispatchTime.now().uptimeNanoseconds
            run(step, folded: folded?.ofStep[k], plan: plan, k: k, input: input, n: n)
            if profile != nil { profile!.forward[step.node] += Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9 }
            if checkFinite && firstNonFinite == nil {
                firstNonFinite = check(graph.nodes[step.node], value: plan.value(step.output, n))   // one node a step: unfused
            }
        }
    }

    @inline(__always)
    private func run(_ step: Step, folded: FoldedWeights.Folded?, plan: InferencePlan, k: Int, input: UnsafeBufferPointer<Float>, n: Int) {
        let node = graph.nodes[step.node]
        let y = plan.value(step.output, n)
        if let r = step.residual, !plan.accumulatesInPlace(k) {
            y.baseAddress!.update(from: plan.value(r, n).baseAddress!, count: y.count)
        }
        var c = ForwardContext(graph: graph, node: node, n: n, tensors: plan, output: y,
                               parameters: folded?.parameters ?? parameters[node.id], training: false)
        c.networkInput = input
        c.workspace = plan.workspace
        c.relu = step.relu != nil
        c.accumulate = step.residual != nil
        c.algorithm = step.algorithm
        c.prepared = folded?.prepared.map { UnsafePointer($0.weights.baseAddress!) }
        node.op.forward(c)
    }
}
