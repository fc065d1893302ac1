import Dispatch
import NetcIR
import NetcKernels

// Reverse-mode differentiation over the IR. Nodes are visited in reverse topological order;
// each turns the gradient of its output into gradients of its parameters (overwritten in the
// store) and of its inputs. A tensor read by several nodes (the residual skip, `add(x, x)`)
// receives the sum: the plan marks, per node and input, whether that input's gradient was
// already written by a later consumer, and the kernels' `accumulate` flag adds instead of
// overwriting — no zero-fill pass and no extra buffers.

extension Interpreter {
    /// Backpropagates the loss seeded by `loss(labels:)` through the last training forward.
    public func backward() {
        precondition(outputGradientReady, "backward needs loss(labels:) after a training forward")
        runBackward()
    }

    /// Backpropagates an arbitrary output gradient, given in NCHW like `output()` (e.g. to
    /// differentiate `Σ output * r`).
    public func backward(outputGradient: [Float]) {
        guard let plan, lastForwardWasTraining else { preconditionFailure("backward needs a training forward") }
        let n = currentBatch, s = graph.outputShape
        precondition(outputGradient.count == n * s.elementCount, "output gradient has the wrong size")
        guard plan.hasGradient[graph.output] else { return }
        outputGradient.withUnsafeBufferPointer {
            nchwToCnhw($0, plan.gradient(graph.output, n), n: n, c: s.channels, spatial: s.height * s.width)
        }
        runBackward()
    }

    private func runBackward() {
        guard let plan, lastForwardWasTraining, plan.training else { preconditionFailure("backward needs a training forward") }
        let n = currentBatch
        for node in graph.nodes.reversed() where plan.hasGradient[node.id] && !plan.fusedAway[node.id] {
            let t0 = profile == nil ? 0 : DispatchTime.now().uptimeNanoseconds
            backward(node, plan: plan, n: n)
            if profile != nil { profile!.backward[node.id] += Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9 }
            afterBackward?(node.id)
        }
        outputGradientReady = false
    }

    @inline(__always)
    private func backward(_ node: Node, plan: ExecutionPlan, n: Int) {
        let i = node.id
        // A batch norm that applies its ReLU reads the ReLU's output gradient.
        var c = BackwardContext(graph: graph, node: node, n: n, tensors: plan,
                                dy: UnsafeBufferPointer(plan.gradient(plan.fusedReLU[i] ?? i, n)), accumulate: plan.accumulateInto[i],
                                parameters: parameters[i], parameterGradients: parameterGradients[i])
        prepare(&c, plan: plan, algorithm: plan.backwardAlgorithms[i])
        c.gradientIsOutputGradient = plan.gradientAliasedInput[i]
        node.op.backward(c)
    }
}
