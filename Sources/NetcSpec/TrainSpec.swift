/// The `train:` section: a training recipe. Every field has d2l's default, and the
/// command line may override each one.
public struct TrainSpec: Hashable, Sendable, Codable {
    public var dataset = "fashion-mnist"
    /// Images are resized to `resize`x`resize` (bilinear); nil: to the network's declared input
    /// size (96 for the chapter's specs, which declare it; a user's `size: 32` trains at 32).
    public var resize: Int?
    public var batch = 128
    public var epochs = 10
    public var seed = 0
    public var optimizer = Optimizer.sgd
    public var lr = 0.01
    /// SGD's momentum and Nesterov momentum.
    public var momentum = 0.0
    public var nesterov = false
    /// AdamW's moment decay rates and denominator term (PyTorch's defaults).
    public var beta1 = 0.9
    public var beta2 = 0.999
    public var epsilon = 1e-8
    /// SGD's L2 penalty, AdamW's decoupled decay (whose default, as PyTorch's, is 0.01).
    public var weightDecay = 0.0
    /// Whether weight decay also applies to batch norms' scales and shifts and to biases.
    public var decayNormAndBias = true
    public var schedule = Schedule.constant
    public var warmupEpochs = 0
    /// Weight initialisation of convolutions and linear layers.
    public var initializer = Initializer.xavier
    /// Per-channel normalisation of the images, `(x - mean) / std` (torchvision's `Normalize`).
    public var normalize: Normalization?
    /// Random changes to each training image, drawn anew each epoch.
    public var augment: Augmentation?

    public enum Normalization: Hashable, Sendable, Codable {
        /// The training set's own per-channel mean and standard deviation, measured when a run
        /// starts (and recorded in its checkpoints as `given`).
        case computed
        case given(mean: [Double], std: [Double])
    }

    /// torchvision's `RandomCrop(size, padding)` and `RandomHorizontalFlip()`, in that order,
    /// after the resize and before the normalisation.
    public struct Augmentation: Hashable, Sendable, Codable {
        /// Zero padding around the image before a random crop back to its size; 0: no crop.
        public var cropPadding = 0
        /// Mirror left to right with probability 1/2.
        public var flip = false
        public init(cropPadding: Int = 0, flip: Bool = false) { self.cropPadding = cropPadding; self.flip = flip }
    }

    public enum Optimizer: String, Hashable, Sendable, Codable, CaseIterable {
        /// `torch.optim.SGD`.
        case sgd
        /// `torch.optim.AdamW`.
        case adamw
    }

    public enum Schedule: Hashable, Sendable, Codable {
        case constant
        /// Multiply the rate by `gamma` every `every` epochs.
        case step(every: Int, gamma: Double)
        /// Cosine decay to zero over the run.
        case cosine

        /// The schedule a command line names: `step` decays by 10x every 30 epochs, as torchvision.
        public init?(name: String) {
            switch name {
            case "constant": self = .constant
            case "step": self = .step(every: 30, gamma: 0.1)
            case "cosine": self = .cosine
            default: return nil
            }
        }

        public var name: String {
            switch self {
            case .constant: "constant"
            case .step: "step"
            case .cosine: "cosine"
            }
        }
    }

    public enum Initializer: String, Hashable, Sendable, Codable, CaseIterable {
        /// Xavier (Glorot) uniform, as d2l's `init_cnn`.
        case xavier
        /// He (Kaiming) normal, fan-out, as torchvision's ResNets.
        case kaiming
    }

    public init() {}

    /// The recipe for `optimizer` with its own defaults where `self` leaves them at SGD's: AdamW
    /// decays weights by 0.01 unless told otherwise, as `torch.optim.AdamW` does.
    public static func defaults(for optimizer: Optimizer) -> TrainSpec {
        var t = TrainSpec()
        t.optimizer = optimizer
        if optimizer == .adamw { (t.lr, t.weightDecay) = (0.001, 0.01) }
        return t
    }

    // Checkpoints written before the optimizer fields existed lack them: their runs used SGD.
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        dataset = try c.decode(String.self, forKey: .dataset)
        resize = try c.decodeIfPresent(Int.self, forKey: .resize)
        batch = try c.decode(Int.self, forKey: .batch)
        epochs = try c.decode(Int.self, forKey: .epochs)
        seed = try c.decode(Int.self, forKey: .seed)
        optimizer = try c.decodeIfPresent(Optimizer.self, forKey: .optimizer) ?? .sgd
        lr = try c.decode(Double.self, forKey: .lr)
        momentum = try c.decode(Double.self, forKey: .momentum)
        nesterov = try c.decodeIfPresent(Bool.self, forKey: .nesterov) ?? false
        beta1 = try c.decodeIfPresent(Double.self, forKey: .beta1) ?? 0.9
        beta2 = try c.decodeIfPresent(Double.self, forKey: .beta2) ?? 0.999
        epsilon = try c.decodeIfPresent(Double.self, forKey: .epsilon) ?? 1e-8
        weightDecay = try c.decode(Double.self, forKey: .weightDecay)
        decayNormAndBias = try c.decodeIfPresent(Bool.self, forKey: .decayNormAndBias) ?? true
        schedule = try c.decode(Schedule.self, forKey: .schedule)
        warmupEpochs = try c.decode(Int.self, forKey: .warmupEpochs)
        initializer = try c.decode(Initializer.self, forKey: .initializer)
        normalize = try c.decodeIfPresent(Normalization.self, forKey: .normalize)
        augment = try c.decodeIfPresent(Augmentation.self, forKey: .augment)
    }
}
