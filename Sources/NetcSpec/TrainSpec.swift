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
    public var lr = 0.01
    public var momentum = 0.0
    public var weightDecay = 0.0
    public var schedule = Schedule.constant
    public var warmupEpochs = 0
    /// Weight initialisation of convolutions and linear layers.
    public var initializer = Initializer.xavier

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
}
