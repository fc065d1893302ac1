import NetcKernels
import NetcRuntime

/// `torch.optim.SGD`: momentum (a buffer per parameter, started from the first step's
/// gradient), Nesterov momentum, and L2 weight decay added to the gradient.
public final class SGD: Optimizer {
    /// Steps taken with momentum: a run resumed with momentum after steps without starts its
    /// buffers as a first step does.
    public private(set) var steps = 0
    public var slots: [String] { momentum == 0 ? [] : ["momentum_buffer"] }
    let store: ParameterStore
    let momentum: Double, weightDecay: Double, nesterov: Bool, decaysEveryTensor: Bool
    private let state: OptimizerState

    public init(_ store: ParameterStore, momentum: Double = 0, weightDecay: Double = 0, nesterov: Bool = false,
                decaysEveryTensor: Bool = true) {
        self.store = store
        self.momentum = momentum
        self.weightDecay = weightDecay
        self.nesterov = nesterov
        self.decaysEveryTensor = decaysEveryTensor
        state = OptimizerState(slots: 1, store: store)
    }

    public func state(_ slot: String, entry: Int) -> UnsafeMutableBufferPointer<Float> {
        precondition(slot == "momentum_buffer", "SGD keeps no '\(slot)'")
        return state.buffer(0, store.entries[entry])
    }

    public func step(learningRate lr: Double) {
        store.noteChange()
        for (i, e) in store.entries.enumerated() where e.role == .trainable {
            let decay = decaysEveryTensor || !e.isNormOrBias ? weightDecay : 0
            sgdStep(param: store.value(at: i), grad: UnsafeBufferPointer(store.gradient(at: i)),
                    momentumBuffer: momentum == 0 ? nil : state.buffer(0, e), learningRate: Float(lr),
                    momentum: Float(momentum), weightDecay: Float(decay), nesterov: nesterov, isFirstStep: steps == 0)
        }
        if momentum != 0 { steps += 1 }
    }

    public func restore(steps: Int) { self.steps = steps }
}
