import NetcIR

/// A spec after reading and typing, before lowering: what the YAML file says, with the source
/// location of everything so that later errors can point back at it.
public struct Spec: Sendable {
    public var file: String
    public var name: String
    public var input: Input
    public var classes: Int?
    /// Where `classes:` was written, so `$classes` can point at it.
    public var classesLocation: SourceLocation?
    public var defaults: Defaults
    /// Block templates by name: the prelude's, then the spec's own (which may shadow them).
    public var blocks: [String: BlockTemplate]
    public var stem: [LayerCall]
    public var stages: [Stage]
    public var head: [LayerCall]
    /// The whole network as one list, for a network without stages (LeNet, VGG); then stem,
    /// stages and head are empty.
    public var layers: [LayerCall]
    public var train: TrainSpec?
    /// The rules of `pytorch_names:`, if the spec has them; `Compilation.pytorchNames` adds what
    /// only lowering knows (the names templates give their layers, the stages' depths).
    public var pytorchNameRules: [TensorNaming.Rule]?

    public struct Input: Sendable {
        public var channels: Int
        public var height: Int
        public var width: Int
        public var location: SourceLocation?
        public var shape: Shape { .map(channels, height, width) }
    }

    /// Spec-wide defaults for layer attributes (`defaults:`).
    public struct Defaults: Sendable {
        /// Whether convolutions carry a bias (d2l: yes; torchvision: no).
        public var bias = true
        public var bnEps = 1e-5
        public var bnMomentum = 0.1
    }
}

/// An attribute or argument as written: a literal or an expression, with where it was written.
public struct SourceValue: Sendable {
    public enum Content: Sendable {
        case literal(Value)
        case expression(Expression, text: String)
        /// A value whose error has been reported; what depends on it stays silent.
        case refused
    }
    public var content: Content
    public var location: SourceLocation

    public init(_ content: Content, at location: SourceLocation) {
        self.content = content
        self.location = location
    }
}

/// One item of a layer list: a built-in layer (`conv`, `relu`, ...) or a block used as a layer.
public struct LayerCall: Sendable {
    public var kind: String
    public var arguments: [String: SourceValue]
    /// Explicit `name:`; otherwise the kind and a counter (`conv1`, `bn2`).
    public var name: String?
    /// `from:`, the earlier tensors the layer reads instead of the previous layer's output: one
    /// name, or a join's operands (`input` is the block's or list's input).
    public var from: [LayerReference]?
    public var location: SourceLocation
    /// Where each attribute's key was written, for "unknown attribute" errors.
    public var keyLocations: [String: SourceLocation] = [:]
}

/// One stage: `depth` blocks of one template; `stride` applies to the first block only.
public struct Stage: Sendable {
    public var block: String
    public var blockLocation: SourceLocation
    /// Every key but `block`: depth, channels, stride and the template's own parameters.
    public var arguments: [String: SourceValue]
    public var location: SourceLocation
}

/// A block definition in the spec language itself (the prelude's `residual`, `bottleneck`,
/// `resnext`, `preact`, or a spec's own under `blocks:`).
public struct BlockTemplate: Sendable {
    public var name: String
    public var doc: String?
    public var parameters: [Parameter]
    /// Derived values, evaluated in order (`width: round($channels * $bot_mul)`).
    public var derived: [(name: String, value: SourceValue)]
    public var body: [LayerCall]
    /// The skip path added to the body's output; nil (`shortcut: none`) for a block with no
    /// implicit add, whose joins (if any) are layers of its body.
    public var shortcut: Shortcut?
    /// Layers applied after the residual add (`[relu]` in the original ResNet, none in pre-activation).
    public var after: [LayerCall]
    public var location: SourceLocation

    public struct Parameter: Sendable {
        public var name: String
        public var type: ValueType
        /// Value when the caller gives none; nil and not optional means required.
        public var defaultValue: SourceValue?
        /// May be left unset; a layer attribute that is exactly `$name` is then omitted.
        public var optional: Bool
        public var oneOf: [Value]?
        public var location: SourceLocation
    }

    public struct Shortcut: Sendable {
        public enum When: String, Sendable, CaseIterable {
            /// Project only when the body changes the shape (channels or stride), as d2l and torchvision do.
            case shapeChanges = "shape_changes"
            case always
            case never
        }
        public var projection: [LayerCall] = []
        public var when: When = .never
        /// The body layer whose output the projection reads; nil means the block's input.
        /// A pre-activation block projects its first ReLU's output.
        public var projectionFrom: LayerReference?
        /// The body layer whose output the identity path adds; nil means the block's input,
        /// which is what every residual block of the papers adds.
        public var identityFrom: LayerReference?
    }
}

/// A layer named as a tensor to read (`from: relu1`, `projection_from: relu1`), and where it was named.
public struct LayerReference: Sendable {
    public var layer: String
    public var location: SourceLocation
}
