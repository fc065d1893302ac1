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
        func x(_ j: Int = 0) -> UnsafeBufferPointer<Float> { UnsafeBufferPointer(plan.value(node.inputs[j], n)) }
        func inShape(_ j: Int = 0) -> Shape { graph.nodes[node.inputs[j]].shape }
        let p = parameters[node.id]
        switch node.op {
        case .input:
            let s = node.shape
            nchwToCnhw(input, y, n: n, c: s.channels, spatial: s.height * s.width)
        case .conv(let c):
            let g = convGeometry(c, input: inShape(), n: n)
            var weight = UnsafeBufferPointer(p[0]), bias = c.bias ? UnsafeBufferPointer(p[1]) : nil
            if let f = folded { weight = UnsafeBufferPointer(f.weight); bias = UnsafeBufferPointer(f.bias) }
            if let r = step.residual, !plan.accumulatesInPlace(k) {
                y.baseAddress!.update(from: plan.value(r, n).baseAddress!, count: y.count)
            }
            step.algorithm!.forward(g, x: x(), weight: weight, bias: bias, y: y, workspace: plan.workspace,
                                    epilogue: ConvEpilogue(accumulate: step.residual != nil, relu: step.relu != nil),
                                    prepared: folded?.prepared.map { UnsafePointer($0.weights.baseAddress!) })
        case .batchNorm(let b):
            let s = node.shape
            batchNormForwardInference(x: x(), y: y, channels: s.channels, perChannel: n * s.height * s.width,
                                      gamma: UnsafeBufferPointer(p[0]), beta: UnsafeBufferPointer(p[1]),
                                      runningMean: UnsafeBufferPointer(p[2]), runningVar: UnsafeBufferPointer(p[3]),
                                      epsilon: Float(b.eps), relu: step.relu != nil)
        case .relu, .activation, .dropout, .maxPool, .avgPool, .globalAvgPool, .flatten, .linear:
            forwardPlain(node, x: x(), y: y, indices: { nil }, n: n)
        case .add:
            add(x(0), x(1), into: y, relu: step.relu != nil)
        case .mul:
            let m = ScaleGeometry(node, in: graph, n: n)
            scalePlanes(x: x(m.map), scale: x(m.scale), y: y, planes: m.planes, spatial: m.spatial)
        case .concat:
            concatChannels(node.inputs.indices.map { x($0) }, into: y)
        }
    }
}
