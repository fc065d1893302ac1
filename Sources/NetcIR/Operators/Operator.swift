/// A kind of layer, declared once: how a spec writes it, what shapes it takes and gives, the
/// parameters it owns and what it costs, its kernels forward and backward, what the memory
/// planner must know of them, how its parameters start, and its ONNX form. Each op is one type
/// conforming to this protocol, in a file of its own under `Operators/`, listed once in
/// `Operators.all`; the spec language, shape inference, summaries, the interpreter, the plans
/// and the exporter read these requirements and never switch over ops, so an op has no other
/// place to be added to. The fusion passes name the ops they fuse (`conv -> batchnorm`).
public protocol Operator: Hashable, Sendable {
    /// The spec keys that make this op, with their documentation and attributes (usually one;
    /// the elementwise activations share a type). Empty for the graph input.
    static var layers: [LayerDeclaration] { get }

    /// Makes the op a spec's layer `key` (one of `layers`) describes, reading its attributes;
    /// nil when an attribute is wrong (the reader has reported it).
    static func make(_ key: String, _ attributes: inout some LayerAttributeReader) -> Self?

    /// The module torchinfo prints (`Conv2d`, `BatchNorm2d`, ...).
    var kindName: String { get }

    /// The kind column of summaries: `kindName` plus the window where there is one (`Conv2d 3x3/2`).
    var summaryKind: String { get }

    /// The numbers of inputs the op takes.
    static var arity: ClosedRange<Int> { get }

    /// Whether the op joins several tensors (`add`, `mul`, `concat`): written with `from:` in a
    /// spec, and a function call rather than a module in PyTorch, so summaries leave it out.
    static var isJoin: Bool { get }

    /// Its window (kernel, stride, padding) and, for a convolution, its groups: the summary's columns.
    var window: (window: Window, groups: Int?)? { get }

    /// Infers the output shape from the input shapes, or says why the inputs do not fit.
    func outputShape(_ inputs: [Shape]) throws(ShapeError) -> Shape

    /// The parameters the op owns, given its input shape; the same layout PyTorch uses, so
    /// checkpoints map one-to-one onto `state_dict` entries.
    func parameters(input: Shape) -> [ParameterSpec]

    /// Adds what the op computes per sample to `cost`, whose parameter counts are already in.
    func addWork(to cost: inout Cost, of node: Node)

    /// How a drawing of the graph shows the op.
    var drawingStyle: DrawingStyle { get }

    // MARK: Running

    /// Computes the output from the inputs and parameters (`Interpreter`, in either plan).
    func forward(_ c: ForwardContext)

    /// Turns the output's gradient into the parameters' and the inputs' gradients.
    func backward(_ c: BackwardContext)

    /// What the memory planner must know of its kernels.
    var memoryNeeds: MemoryNeeds { get }

    /// In inference, the inputs (by position) whose buffer its output may take over when it is
    /// their last reader: elementwise kernels can write over what they read.
    func inPlaceInputs(_ node: Node, in graph: Graph) -> [Int]

    /// Whether its inference kernel can apply a ReLU that follows it (`fuse-relu`).
    var appliesReLU: Bool { get }

    /// Fills parameter `index` (in `parameters(input:)` order) of a new model.
    func initialize(_ index: Int, of node: Node, _ values: UnsafeMutableBufferPointer<Float>, scheme: InitScheme,
                    random: inout SplitMix64)

    // MARK: Export

    /// Writes the op as ONNX operators (opset 17) computing the same function in inference.
    func exportONNX(_ node: Node, to out: inout some ONNXWriter)
}

/// What a spec writes to make a layer: its key, documentation, attributes, and the prefix its
/// layers are counted under in a block (`conv1`, `bn2`, `fc1`).
public struct LayerDeclaration: Sendable {
    public var key: String
    public var doc: String
    public var namePrefix: String
    /// Its attributes beside the ones every layer takes.
    public var attributes: [LayerAttribute]

    public init(_ key: String, prefix: String? = nil, _ doc: String, attributes: [LayerAttribute] = []) {
        self.key = key
        self.namePrefix = prefix ?? key
        self.doc = doc
        self.attributes = attributes
    }
}

/// One attribute a layer takes, for validation and the schema's documentation.
public struct LayerAttribute: Sendable {
    public var name: String
    public var required: Bool
    /// The default as a user would write it; nil when there is none.
    public var defaultValue: String?
    public var doc: String

    public init(_ name: String, required: Bool = false, default defaultValue: String? = nil, _ doc: String) {
        self.name = name
        self.required = required
        self.defaultValue = defaultValue
        self.doc = doc
    }
}

/// Typed access to a layer's attributes while a spec is lowered: each getter evaluates the value
/// written, checks its type and range, reports what is wrong at the place it was written, and
/// returns nil then.
public protocol LayerAttributeReader {
    /// The shape of the layer's (first) input, if known.
    var inputShape: Shape? { get }
    /// The spec's `defaults:` (conv bias, batch-norm eps and momentum).
    var defaults: LayerDefaults { get }
    /// An integer of at least `min`; `default` when absent (nil: the attribute is required).
    mutating func int(_ name: String, min: Int, default: Int?) -> Int?
    /// A number in `range`; `help` says what it means and what to write when it is out of range.
    mutating func number(_ name: String, default: Double, _ range: NumberRange, help: String) -> Double?
    mutating func bool(_ name: String, default: Bool) -> Bool?
    /// A convolution's groups, from `groups` (cardinality) or `group_width` (channels per group),
    /// checked against its input channels and `outChannels`.
    mutating func groups(outChannels: Int?) -> Int?
}

/// The range a number attribute must lie in.
public enum NumberRange: Sendable {
    /// Above 0 (an epsilon).
    case positive
    /// 0 through 1 (a momentum).
    case unit
    /// At least 0 and below 1 (a dropout probability).
    case probability
}

/// The spec-wide defaults layers read.
public struct LayerDefaults: Sendable {
    public var bias: Bool
    public var bnEps: Double
    public var bnMomentum: Double
    public init(bias: Bool, bnEps: Double, bnMomentum: Double) {
        self.bias = bias
        self.bnEps = bnEps
        self.bnMomentum = bnMomentum
    }
}

/// How a drawing shows an op: weighted layers stand out, joins are small.
public enum DrawingStyle: Sendable {
    case weighted, normalization, join, input, plain
}

extension Operator {
    public var summaryKind: String { kindName }
    public static var arity: ClosedRange<Int> { 1...1 }
    public static var isJoin: Bool { false }
    public var window: (window: Window, groups: Int?)? { nil }
    public func parameters(input: Shape) -> [ParameterSpec] { [] }
    public func addWork(to cost: inout Cost, of node: Node) {}
    public var drawingStyle: DrawingStyle { Self.isJoin ? .join : .plain }
    public var memoryNeeds: MemoryNeeds { MemoryNeeds() }
    public func inPlaceInputs(_ node: Node, in graph: Graph) -> [Int] { [] }
    public var appliesReLU: Bool { false }
    public func initialize(_ index: Int, of node: Node, _ values: UnsafeMutableBufferPointer<Float>, scheme: InitScheme,
                           random: inout SplitMix64) {
        preconditionFailure("\(kindName) declares parameters but does not initialise them")
    }

    /// Whether `other` is the same op with the same settings.
    public func isEqual(to other: any Operator) -> Bool { (other as? Self) == self }
}

/// Every op netc knows, in the order the spec language documents them.
public enum Operators {
    public static let all: [any Operator.Type] = [
        Conv.self, BatchNorm.self, ReLU.self, LeakyReLU.self, ActivationLayer.self, Dropout.self,
        MaxPool.self, AvgPool.self, GlobalAvgPool.self, Flatten.self, Linear.self,
        Add.self, Mul.self, Concat.self,
    ]

    /// Each spec key with its declaration and the type it makes.
    public static let byKey: [String: (declaration: LayerDeclaration, type: any Operator.Type)] = {
        var table: [String: (declaration: LayerDeclaration, type: any Operator.Type)] = [:]
        for type in all {
            for layer in type.layers {
                precondition(table[layer.key] == nil, "two ops declare the spec key '\(layer.key)'")
                table[layer.key] = (layer, type)
            }
        }
        return table
    }()

    /// Every declaration, in `all`'s order.
    public static var declarations: [LayerDeclaration] { all.flatMap { $0.layers } }
}

/// Shape rules several ops share.
enum ShapeRules {
    /// The input as a feature map, or why `op` cannot take it.
    static func map(_ shape: Shape, for op: String) throws(ShapeError) -> Shape {
        guard shape.isMap else {
            throw ShapeError("\(op) takes a CxHxW feature map, got a vector of \(shape.elementCount)",
                             help: "move it before 'flatten'")
        }
        return shape
    }

    /// The output height and width of a window sliding over `x`, or why it does not fit.
    static func window(_ w: Window, over x: Shape, _ what: String) throws(ShapeError) -> (Int, Int) {
        let (h, wd) = w.outputSize(height: x.height, width: x.width)
        guard h >= 1, wd >= 1 else {
            throw ShapeError("\(what) collapses the \(x.height)x\(x.width) feature map to \(h)x\(wd)",
                             help: "use a larger input size, or fewer downsampling layers")
        }
        return (h, wd)
    }
}

/// An ONNX attribute's value.
public enum ONNXAttribute: Sendable {
    case int(Int), ints([Int]), float(Float)
}

/// Where an op writes its ONNX form (`Operator.exportONNX`): operators and weight tensors.
public protocol ONNXWriter {
    /// The ONNX tensors the node reads, in input order.
    var inputs: [String] { get }
    /// The node's parameter values, in `parameters(input:)` order; a conv that absorbed the batch
    /// norm after it gets its folded weight and bias.
    var parameterValues: [[Float]] { get }
    /// Adds a weight or constant tensor named `<node>.<suffix>`, and returns its name.
    mutating func constant(_ suffix: String, dims: [Int], values: [Float]) -> String
    /// Adds an operator named after the node that writes the node's value, or with `intermediate`
    /// a tensor `<node>.<intermediate>` of its own; returns the tensor it writes.
    @discardableResult
    mutating func op(_ type: String, _ inputs: [String], _ attributes: [(String, ONNXAttribute)], intermediate: String?) -> String
}

extension ONNXWriter {
    @discardableResult
    public mutating func op(_ type: String, _ inputs: [String], _ attributes: [(String, ONNXAttribute)] = []) -> String {
        op(type, inputs, attributes, intermediate: nil)
    }
}

extension Window {
    /// ONNX's attributes for this window.
    public var onnxAttributes: [(String, ONNXAttribute)] {
        [("kernel_shape", .ints([sizeH, sizeW])), ("strides", .ints([strideH, strideW])), ("pads", .ints([padH, padW, padH, padW]))]
    }
}
