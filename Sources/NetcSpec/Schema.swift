import NetcIR

/// Every key of the spec language: its type, its default and what it means, in one place
/// (as pycls's config.py documents its design space). The reader checks specs against these
/// tables, did-you-mean suggestions come from them, and docs/spec.md documents the same keys.
public enum Schema {
    public enum KeyType: String, Sendable {
        case int, number, string, bool, mapping, list
        /// A list of layers: strings (`relu`) or one-key mappings (`conv: {...}`).
        case layers
        /// A stage list, or pycls-style per-stage lists in a mapping.
        case stages
        /// An integer, number, string or bool; may be an expression (`$channels * 2`).
        case value
    }

    public struct Key: Sendable {
        public var name: String
        public var type: KeyType
        public var required: Bool
        /// The default as a user would write it; nil when there is none.
        public var defaultValue: String?
        public var doc: String

        init(_ name: String, _ type: KeyType, required: Bool = false, default defaultValue: String? = nil, _ doc: String) {
            self.name = name
            self.type = type
            self.required = required
            self.defaultValue = defaultValue
            self.doc = doc
        }
    }

    /// The format version this netc reads.
    public static let version = 1

    public static let spec: [Key] = [
        Key("netc", .int, default: "1", "format version of the spec; this netc reads version 1"),
        Key("name", .string, required: true, "the network's name, used in summaries and run directories"),
        Key("doc", .string, "free text: the paper and variant the spec follows"),
        Key("input", .mapping, required: true, "the shape of one input sample"),
        Key("classes", .int, "number of classes; layers may write it as `$classes`"),
        Key("defaults", .mapping, "spec-wide defaults for layer attributes"),
        Key("blocks", .mapping, "block templates of this spec, by name; they may shadow the bundled ones"),
        Key("stem", .layers, default: "[]", "layers before the first stage"),
        Key("stages", .stages, "the stages of residual blocks, in order"),
        Key("layers", .layers, "the whole network as one list of layers (LeNet, AlexNet, VGG), instead of stem, stages and head"),
        Key("head", .layers, default: "[]", "layers after the last stage"),
        Key("train", .mapping, "the training recipe"),
        Key("pytorch_names", .mapping, "how the tensors are named in PyTorch: netc name prefix to PyTorch's, `stages.{s}.{b}: layer{s+1}.{b}`"),
    ]

    public static let input: [Key] = [
        Key("channels", .int, required: true, "channels of the input image (1 for Fashion-MNIST)"),
        Key("size", .int, "height and width of a square input"),
        Key("height", .int, "input height, with `width`, for a non-square input"),
        Key("width", .int, "input width, with `height`"),
    ]

    public static let defaults: [Key] = [
        Key("bias", .bool, default: "true", "whether convolutions carry a bias (d2l: true; torchvision: false)"),
        Key("bn_eps", .number, default: "1e-5", "batch-norm epsilon"),
        Key("bn_momentum", .number, default: "0.1", "batch-norm running-average momentum, as PyTorch counts it"),
    ]

    /// Keys of one stage; the block template's parameters are accepted too.
    public static let stage: [Key] = [
        Key("block", .string, required: true, "the block template: residual, bottleneck, resnext, preact or one from `blocks:`"),
        Key("depth", .int, required: true, "number of blocks in the stage"),
        Key("channels", .int, required: true, "output channels of every block in the stage"),
        Key("stride", .int, default: "1", "stride of the stage's first block; the others use 1"),
    ]

    /// pycls-style stages: per-stage lists, one entry per stage, and scalars that apply to all.
    public static let stageLists: [(plural: String, singular: String)] = [
        ("depths", "depth"), ("widths", "channels"), ("strides", "stride"),
        ("bot_muls", "bot_mul"), ("group_widths", "group_width"), ("groups_list", "groups"),
    ]

    public static let block: [Key] = [
        Key("doc", .string, "what the block is and where it comes from"),
        Key("params", .mapping, "parameters: `name: type` or `name: {type, default, optional, one_of}`; `channels` and `stride` always exist"),
        Key("let", .mapping, "derived values, evaluated in order: `width: round($channels * $bot_mul)`"),
        Key("body", .layers, required: true, "the residual branch's layers"),
        Key("shortcut", .mapping, "the skip connection added to the body's output: identity when absent; `none` for a block without one, whose joins are layers of its body (`add`, `mul`, `concat`)"),
        Key("after", .layers, default: "[]", "layers after the residual add"),
    ]

    public static let parameter: [Key] = [
        Key("type", .string, required: true, "int, number, string or bool"),
        Key("default", .value, "value when a stage gives none"),
        Key("optional", .bool, default: "false", "may be left unset; an attribute written exactly `$name` is then omitted"),
        Key("one_of", .list, "the values allowed"),
    ]

    public static let shortcut: [Key] = [
        Key("projection", .layers, "layers applied to the skip path when it projects"),
        Key("when", .string, default: "shape_changes", "when the projection is used: shape_changes, always or never"),
        Key("projection_from", .string, "name of the body layer whose output the projection reads (default: the block input)"),
        Key("identity_from", .string, "name of the body layer whose output the identity path adds (default: the block input)"),
    ]

    /// Keys that netc no longer reads, with what to write instead (by `where.key`).
    public static let retired: [String: String] = [
        "shortcut.from": "'from' fed both the projection and the identity path; write 'projection_from' and/or 'identity_from' (a pre-activation block projects its first ReLU's output, 'projection_from: relu1', and adds the block input unchanged)",
    ]

    public static let train: [Key] = [
        Key("dataset", .string, default: "fashion-mnist", "fashion-mnist, mnist, or a directory of IDX files"),
        Key("resize", .int, default: "the input's size", "resize images to this size (bilinear)"),
        Key("batch", .int, default: "128", "minibatch size"),
        Key("epochs", .int, default: "10", "passes over the training set"),
        Key("seed", .int, default: "0", "random seed, 0 or more: the same seed repeats a run exactly"),
        Key("init", .string, default: "xavier", "weight initialisation: xavier (d2l) or kaiming (torchvision)"),
        Key("optimizer", .mapping, default: "{sgd: {lr: 0.01}}", "the optimizer: `sgd` or `adamw`"),
        Key("schedule", .mapping, default: "{constant: {}}", "learning-rate schedule: constant, step or cosine"),
        Key("warmup_epochs", .int, default: "0", "epochs of linear warmup before the schedule, 0 or more"),
        Key("normalize", .value, "per-channel (x - mean) / std: `computed` from the training set, or `{mean: [...], std: [...]}`"),
        Key("augment", .mapping, "random changes to training images: `crop_padding`, `flip`"),
    ]

    public static let augment: [Key] = [
        Key("crop_padding", .int, default: "0", "zero padding before a random crop back to the image's size (torchvision's RandomCrop(size, padding))"),
        Key("flip", .bool, default: "false", "mirror left to right with probability 1/2 (RandomHorizontalFlip)"),
    ]

    public static let normalize: [Key] = [
        Key("mean", .list, required: true, "one mean per input channel"),
        Key("std", .list, required: true, "one standard deviation per input channel, each positive"),
    ]

    public static let sgd: [Key] = [
        Key("lr", .number, default: "0.01", "learning rate, positive"),
        Key("momentum", .number, default: "0", "momentum, as torch.optim.SGD: at least 0 and below 1"),
        Key("weight_decay", .number, default: "0", "L2 penalty added to the gradient, 0 or more"),
        Key("nesterov", .bool, default: "false", "Nesterov momentum, as torch.optim.SGD's nesterov=True"),
        Key("decay_norm_and_bias", .bool, default: "true", "whether weight decay also applies to batch norms and biases"),
    ]

    public static let adamw: [Key] = [
        Key("lr", .number, default: "0.001", "learning rate, positive"),
        Key("betas", .value, default: "[0.9, 0.999]", "decay rates of the moment estimates, each at least 0 and below 1"),
        Key("eps", .number, default: "1e-8", "term added to the denominator, positive"),
        Key("weight_decay", .number, default: "0.01", "decoupled weight decay, 0 or more"),
        Key("decay_norm_and_bias", .bool, default: "true", "whether weight decay also applies to batch norms and biases"),
    ]

    public static let stepSchedule: [Key] = [
        Key("every", .int, required: true, "epochs between decays"),
        Key("gamma", .number, default: "0.1", "factor applied at each decay"),
    ]

    /// Attributes every layer accepts.
    public static let commonLayer: [Key] = [
        Key("name", .string, "the layer's name in its block (default: kind and counter, `conv1`)"),
        Key("if", .value, default: "true", "include the layer only when this is true (`if: $projection_bn`)"),
        Key("from", .list, default: "the previous layer", "the earlier layer (by name) the layer reads, or `input`: the block's (or list's) input; a join's operands as a list"),
        Key("pytorch", .value, "in a block template, the layer's name in PyTorch relative to the block (`downsample.0`), used by a spec's `pytorch_names`; may be an expression"),
    ]

    /// The built-in layers and their attributes, by spec key (from each op's `layers`).
    public static let layers: [String: (doc: String, keys: [Key])] =
        Dictionary(uniqueKeysWithValues: Operators.declarations.map { layer in
            (layer.key, (doc: layer.doc, keys: layer.attributes.map { Key($0.name, .value, required: $0.required, default: $0.defaultValue, $0.doc) }))
        })
}
