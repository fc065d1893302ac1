import NetcKernels
import NetcRuntime

/// `torch.optim.AdamW` (Loshchilov and Hutter 2019): Adam's bias-corrected moments, and weight
/// decay applied to the weights themselves rather than added to the gradient.
public final class AdamW: Optimizer {
    public private(set) var steps = 0
    public let slots = ["exp_avg", "exp_avg_sq"]
    let store: ParameterStore
    let beta1: Double, beta2: Double, epsilon: Double, weightDecay: Double, decaysEveryTensor: Bool
    private let state: OptimizerState

    public init(_ store: ParameterStore, beta1: Double = 0.9, beta2: Double = 0.999, epsilon: Double = 1e-8,
                weightDecay: Double = 0.01, decaysEveryTensor: Bool = true) {
        self.store = store
        self.beta1 = beta1
        self.beta2 = beta2
        self.epsilon = epsilon
        self.weightDecay = weightDecay
        self.decaysEveryTensor = decaysEveryTensor
        state = OptimizerState(slots: 2, store: store)
    }

    public func state(_ slot: String, entry: Int) -> UnsafeMutableBufferPointer<Float> {
        guard let k = slots.firstIndex(of: slot) else { preconditionFailure("AdamW keeps no '\(slot)'") }
        return state.buffer(k, store.entries[entry])
    }

    public func step(learningRate lr: Double) {
        store.noteChange()
        steps += 1
        for (i, e) in store.entries.enumerated() where e.role == .trainable {
            adamwStep(param: store.value(at: i), grad: UnsafeBufferPointer(store.gradient(at: i)),
                      firstMoment: state.buffer(0, e), secondMoment: state.buffer(1, e), step: steps, learningRate: lr,
                      beta1: beta1, beta2: beta2, epsilon: epsilon,
                      weightDecay: decaysEveryTensor || !e.isNormOrBias ? weightDecay : 0)
        }
    }

    public func restore(steps: Int) { self.steps = steps }
}
