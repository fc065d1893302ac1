import NetcIR

/// Every built-in layer of the spec language, declared once: its spec key, documentation,
/// attributes and the name prefix its layers are counted under; `Lowering.makeOp` turns its
/// attributes into an IR op. Every switch over it is exhaustive, so a kind added here and
/// forgotten anywhere (a key without an op, an op without a prefix) does not compile.
public enum LayerKind: Hashable, Sendable, CaseIterable {
    case conv, batchnorm, relu, activation(Activation), dropout
    case maxpool, avgpool, globalAvgpool, flatten, linear
    case add, mul, concat

    public static var allCases: [LayerKind] {
        [.conv, .batchnorm, .relu] + Activation.allCases.map(LayerKind.activation)
            + [.dropout, .maxpool, .avgpool, .globalAvgpool, .flatten, .linear, .add, .mul, .concat]
    }

    /// The kind a spec's key names, if any.
    public init?(key: String) {
        guard let kind = Self.byKey[key] else { return nil }
        self = kind
    }

    private static let byKey = Dictionary(uniqueKeysWithValues: allCases.map { ($0.key, $0) })

    /// What a spec writes: `conv`, `global_avgpool`, `relu6`.
    public var key: String {
        switch self {
        case .conv: "conv"
        case .batchnorm: "batchnorm"
        case .relu: "relu"
        case .activation(let a): a.rawValue
        case .dropout: "dropout"
        case .maxpool: "maxpool"
        case .avgpool: "avgpool"
        case .globalAvgpool: "global_avgpool"
        case .flatten: "flatten"
        case .linear: "linear"
        case .add: "add"
        case .mul: "mul"
        case .concat: "concat"
        }
    }

    /// The prefix its layers are counted under in a block (`conv1`, `bn2`, `fc1`).
    public var namePrefix: String {
        switch self {
        case .batchnorm: "bn"
        case .globalAvgpool: "avgpool"
        case .linear: "fc"
        case .activation(let a): a.namePrefix
        case .conv, .relu, .dropout, .maxpool, .avgpool, .flatten, .add, .mul, .concat: key
        }
    }

    /// Whether it joins several tensors, named by its `from:`.
    public var isJoin: Bool {
        switch self {
        case .add, .mul, .concat: true
        case .conv, .batchnorm, .relu, .activation, .dropout, .maxpool, .avgpool, .globalAvgpool, .flatten, .linear: false
        }
    }

    public var doc: String {
        switch self {
        case .conv: "2-D convolution, PyTorch's Conv2d"
        case .batchnorm: "batch normalisation over channels, PyTorch's BatchNorm2d"
        case .relu: "rectified linear unit"
        case .activation(let a): a.doc
        case .dropout: "in training, zeroes each value with probability p and scales the others by 1/(1-p) (PyTorch's Dropout); nothing in evaluation"
        case .maxpool: "max pooling"
        case .avgpool: "average pooling (padding counts as zeros, PyTorch's default)"
        case .globalAvgpool: "average over all positions: CxHxW to Cx1x1"
        case .flatten: "CxHxW to a vector of C*H*W"
        case .linear: "fully connected layer, PyTorch's Linear"
        case .add: "elementwise sum of two equally shaped tensors: `from: [a, b]`, or `from: a` to add it to the previous layer's output"
        case .mul: "elementwise product of two tensors, or of a CxHxW map and a Cx1x1 per-channel scale (squeeze-and-excitation): `from` as for add"
        case .concat: "tensors of equal height and width stacked along channels, in order (Inception): `from: [a, b, ...]`"
        }
    }

    /// Its attributes beside the ones every layer takes (`Schema.commonLayer`).
    public var attributes: [Schema.Key] {
        typealias Key = Schema.Key
        switch self {
        case .conv: return [
            Key("out", .value, required: true, "output channels"),
            Key("kernel", .value, required: true, "square kernel size"),
            Key("stride", .value, default: "1", "stride"),
            Key("pad", .value, default: "0", "zero padding on each side"),
            Key("groups", .value, "number of groups (cardinality, as torchvision's `groups`)"),
            Key("group_width", .value, "channels per group (what d2l's ResNeXtBlock calls `groups`); not with `groups`"),
            Key("bias", .value, default: "defaults.bias", "whether the convolution adds a bias"),
        ]
        case .batchnorm: return [
            Key("eps", .value, default: "defaults.bn_eps", "added to the variance"),
            Key("momentum", .value, default: "defaults.bn_momentum", "running-average momentum"),
        ]
        case .maxpool: return [
            Key("kernel", .value, required: true, "window size"),
            Key("stride", .value, default: "kernel", "stride"),
            Key("pad", .value, default: "0", "padding (ignored by the max)"),
        ]
        case .avgpool: return [
            Key("kernel", .value, required: true, "window size"),
            Key("stride", .value, default: "kernel", "stride"),
            Key("pad", .value, default: "0", "zero padding"),
        ]
        case .dropout: return [Key("p", .value, default: "0.5", "the fraction dropped, at least 0 and below 1")]
        case .linear: return [
            Key("out", .value, required: true, "output features"),
            Key("bias", .value, default: "true", "whether the layer adds a bias"),
        ]
        case .relu, .activation, .globalAvgpool, .flatten, .add, .mul, .concat: return []
        }
    }
}
