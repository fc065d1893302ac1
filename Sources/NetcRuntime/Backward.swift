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
        let dy = UnsafeBufferPointer(plan.gradient(plan.fusedReLU[i] ?? i, n))
        let accumulate = plan.accumulateInto[i]
        func x(_ k: Int = 0) -> UnsafeBufferPointer<Float> { UnsafeBufferPointer(plan.value(node.inputs[k], n)) }
        func wants(_ k: Int = 0) -> Bool { plan.hasGradient[node.inputs[k]] }
        func dx(_ k: Int = 0) -> UnsafeMutableBufferPointer<Float> { plan.gradient(node.inputs[k], n) }
        func inShape(_ k: Int = 0) -> Shape { graph.nodes[node.inputs[k]].shape }
        let p = parameters[i], dp = parameterGradients[i]
        switch node.op {
        case .input:
            break
        case .conv(let c):
            let g = convGeometry(c, input: inShape(), n: n)
            let algorithm = plan.backwardAlgorithms[i]!
            algorithm.backwardFilter(g, x: x(), dy: dy, dWeight: dp[0], dBias: c.bias ? dp[1] : nil, workspace: plan.workspace)
            if wants() {
                algorithm.backwardData(g, dy: dy, weight: UnsafeBufferPointer(p[0]), dx: dx(), workspace: plan.workspace,
                                 accumulate: accumulate[0])
            }
        case .batchNorm:
            let s = node.shape
            let (mean, invStd) = plan.savedStats(i, channels: s.channels)
            // The plan guarantees BN's input has a gradient buffer (the kernel always writes dx).
            batchNormBackward(x: x(), dy: dy, dx: dx(), channels: s.channels, perChannel: n * s.height * s.width,
                              gamma: UnsafeBufferPointer(p[0]), saveMean: UnsafeBufferPointer(mean),
                              saveInvStd: UnsafeBufferPointer(invStd), dGamma: dp[0], dBeta: dp[1],
                              accumulate: accumulate[0],
                              reluBeta: plan.fusedReLU[i] == nil ? nil : UnsafeBufferPointer(p[1]), across: batchStatisticsSum)
        case .relu:
            if wants() { reluBackward(y: UnsafeBufferPointer(plan.value(i, n)), dy: dy, dx: dx(), accumulate: accumulate[0]) }
        case .activation(let a):
            if wants() { activationBackward(a.function, x: x(), dy: dy, dx: dx(), accumulate: accumulate[0]) }
        case .dropout(let p):
            if wants() { dropoutBackward(p: dropoutEnabled ? p : 0, key: dropoutMaskKey(i), dy: dy, dx: dx(), accumulate: accumulate[0]) }
        case .maxPool(let pool):
            if wants() {
                maxPoolBackward(poolGeometry(pool, input: inShape(), n: n), dy: dy,
                                indices: UnsafeBufferPointer(plan.indices(i, n)), dx: dx(), accumulate: accumulate[0])
            }
        case .avgPool(let pool):
            if wants() { avgPoolBackward(poolGeometry(pool, input: inShape(), n: n), dy: dy, dx: dx(), accumulate: accumulate[0]) }
        case .globalAvgPool:
            let s = inShape()
            if wants() {
                globalAvgPoolBackward(dy: dy, dx: dx(), planes: s.channels * n, spatial: s.height * s.width,
                                      accumulate: accumulate[0])
            }
        case .flatten:
            let s = inShape()
            if wants() {
                flattenBackward(dy: dy, dx: dx(), channels: s.channels, n: n, spatial: s.height * s.width,
                                accumulate: accumulate[0])
            }
        case .linear(let l):
            let inF = inShape().elementCount
            linearBackwardWeights(x: x(), dy: dy, dWeight: dp[0], dBias: l.bias ? dp[1] : nil,
                                  inFeatures: inF, outFeatures: l.outFeatures, n: n)
            if wants() {
                linearBackwardData(dy: dy, weight: UnsafeBufferPointer(p[0]), dx: dx(),
                                   inFeatures: inF, outFeatures: l.outFeatures, n: n, accumulate: accumulate[0])
            }
        case .add:
            // d(a + b) = dy for both; `add(x, x)` visits x twice, overwrite then accumulate.
            // The plan may have made one input's gradient the same buffer as dy: nothing to do.
            for k in 0..<2 where wants(k) && plan.gradientAliasedInput[i] != k {
                let target = dx(k)
                if accumulate[k] {
                    NetcKernels.accumulate(dy, into: target)
                } else {
                    target.baseAddress!.update(from: dy.baseAddress!, count: dy.count)
                }
            }
        case .mul:
            let m = ScaleGeometry(node, in: graph, n: n)
            scalePlanesBackward(x: x(m.map), scale: x(m.scale), dy: dy,
                                dx: wants(m.map) ? dx(m.map) : nil, accumulateX: accumulate[m.map],
                                dScale: wants(m.scale) ? dx(m.scale) : nil, accumulateScale: accumulate[m.scale],
                                planes: m.planes, spatial: m.spatial)
        case .concat:
            concatChannelsBackward(dy, into: node.inputs.indices.map { k in
                (wants(k) ? dx(k) : nil, inShape(k).elementCount * n, accumulate[k])
            })
        }
    }
}
