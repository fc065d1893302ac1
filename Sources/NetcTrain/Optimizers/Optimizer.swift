import NetcRuntime
import NetcSpec

/// An update rule for a store's trainable tensors, owning its state (SGD's momentum, AdamW's
/// moments): the runtime computes gradients and knows no optimizer. A checkpoint holds the state
/// per parameter under `optimizer.<slot>.<parameter>` (PyTorch's names for the slots:
/// `momentum_buffer`, `exp_avg`, `exp_avg_sq`) and the step count, so a resumed run continues
/// exactly. A new optimizer is one file that conforms, and a case in `makeOptimizer`.
public protocol Optimizer: AnyObject {
    /// Steps that used its state: AdamW's bias corrections count them; SGD starts its momentum on
    /// the first. A checkpoint after such steps must hold every slot of every parameter.
    var steps: Int { get }
    /// The names of its per-parameter state; empty when it keeps none (SGD without momentum).
    var slots: [String] { get }
    /// The state `slot` holds for the store's entry `entry` (a trainable one).
    func state(_ slot: String, entry: Int) -> UnsafeMutableBufferPointer<Float>
    /// One update of every trainable tensor from its gradient, at learning rate `lr` (the
    /// schedule's rate for this step).
    func step(learningRate lr: Double)
    /// Continues from a checkpoint's state: `steps` taken, the slots already filled by `state`.
    func restore(steps: Int)
}

/// The checkpoint name of a slot's state for a parameter: `optimizer.exp_avg.stem.conv1.weight`.
func optimizerTensorName(slot: String, parameter: String) -> String { "optimizer.\(slot).\(parameter)" }

/// The optimizer a recipe names, for `store`.
public func makeOptimizer(_ recipe: TrainSpec, for store: ParameterStore) -> Optimizer {
    switch recipe.optimizer {
    case .sgd: SGD(store, momentum: recipe.momentum, weightDecay: recipe.weightDecay, nesterov: recipe.nesterov,
                   decaysEveryTensor: recipe.decayNormAndBias)
    case .adamw: AdamW(store, beta1: recipe.beta1, beta2: recipe.beta2, epsilon: recipe.epsilon,
                       weightDecay: recipe.weightDecay, decaysEveryTensor: recipe.decayNormAndBias)
    }
}

/// Per-parameter state laid out as the store's values: one allocation per slot, zeroed, made on
/// first use (plain SGD, the chapter's recipe, never makes one).
final class OptimizerState {
    private let count: Int
    private var storage: [UnsafeMutableBufferPointer<Float>?]

    init(slots: Int, store: ParameterStore) {
        count = max(store.totalCount, 1)
        storage = Array(repeating: nil, count: slots)
    }

    deinit { for s in storage { s?.deallocate() } }

    /// Slot `k`'s buffer for `entry`.
    func buffer(_ k: Int, _ entry: ParameterStore.Entry) -> UnsafeMutableBufferPointer<Float> {
        let all: UnsafeMutableBufferPointer<Float>
        if let s = storage[k] { all = s } else {
            all = .allocate(capacity: count)
            all.initialize(repeating: 0)
            storage[k] = all
        }
        return UnsafeMutableBufferPointer(rebasing: all[entry.offset ..< entry.offset + entry.count])
    }
}

extension ParameterStore.Entry {
    /// Whether weight decay applies to it when the recipe spares batch norms and biases
    /// (`decay_norm_and_bias: false`): a tensor of one dimension is a bias or a batch norm's
    /// scale or shift, as timm's and torchvision's recipes tell them apart.
    var isNormOrBias: Bool { shape.count <= 1 }
}
