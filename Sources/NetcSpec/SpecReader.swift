import NetcIR

/// Reads a composed YAML tree into a `Spec`, checking it against `Schema` and collecting
/// every problem as a diagnostic instead of stopping at the first.
struct SpecReader {
    var diagnostics: [Diagnostic] = []

    /// The keys of a mapping that passed the schema check, by name.
    struct Fields {
        var entries: [String: (key: YAMLNode, value: YAMLNode)] = [:]
        subscript(_ name: String) -> YAMLNode? { entries[name]?.value }
    }

    // MARK: - The spec

    mutating func readSpec(_ root: YAMLNode, file: String, prelude: [String: BlockTemplate]) -> Spec? {
        guard let f = fields(root, Schema.spec, in: "the spec") else { return nil }
        if let v = f["netc"], let version = int(v, "netc"), version != Schema.version {
            error("this netc reads spec format \(Schema.version), the file says \(version)", at: v,
                  help: "write 'netc: \(Schema.version)' and check the spec against docs/spec.md")
        }
        let name = f["name"].flatMap { string($0, "name") } ?? ""
        let input = f["input"].flatMap { readInput($0) }
        let classes = f["classes"].flatMap { positiveInt($0, "classes") }
        let defaults = f["defaults"].map { readDefaults($0) } ?? Spec.Defaults()
        var blocks = prelude
        if let b = f["blocks"] {
            for (name, template) in readBlocks(b) { blocks[name] = template }
        }
        let stem = f["stem"].map { layers($0, "stem") } ?? []
        let stages = f["stages"].map { readStages($0, blocks: blocks) } ?? []
        let head = f["head"].map { layers($0, "head") } ?? []
        let whole = f["layers"].map { layers($0, "layers") } ?? []
        if let layersKey = f.entries["layers"]?.key {
            for other in ["stem", "stages", "head"] where f[other] != nil {
                error("'layers' is the whole network; it does not go with '\(other)'", at: layersKey,
                      help: "write the network as 'layers:' alone, or as 'stem:', 'stages:' and 'head:'")
            }
        } else if f["stages"] == nil {
            diagnostics.append(.error("the spec has neither 'stages' nor 'layers'", at: root.location,
                                      help: "give 'stages:' (with 'stem:' and 'head:' around them), or the whole network as 'layers:'"))
        }
        let train = f["train"].flatMap { readTrain($0) }
        let names = f["pytorch_names"].flatMap { readNamingRules($0) }
        guard let input else { return nil }
        return Spec(file: file, name: name, input: input, classes: classes, classesLocation: f["classes"]?.location,
                    defaults: defaults, blocks: blocks,
                    stem: stem, stages: stages, head: head, layers: whole, train: train, pytorchNameRules: names)
    }

    /// `pytorch_names:`: netc name prefix -> PyTorch name prefix, for each rule.
    private mutating func readNamingRules(_ node: YAMLNode) -> [TensorNaming.Rule]? {
        guard let entries = mapping(node, "pytorch_names") else { return nil }
        var rules: [TensorNaming.Rule] = []
        for (key, value) in entries {
            guard let pattern = string(key, "a netc name"), let replacement = string(value, "a PyTorch name") else { continue }
            switch TensorNaming.rule(pattern: pattern, replacement: replacement, at: key.location) {
            case .success(let rule): rules.append(rule)
            case .failure(let e):
                error(e.message, at: e.message.contains("'\(replacement)'") ? value : key,
                      help: e.help ?? "e.g. 'stages.{s}.{b}: layer{s+1}.{b}': netc's prefix, then PyTorch's, numbers written {s} and {s+1}")
            }
        }
        return rules
    }

    private mutating func readInput(_ node: YAMLNode) -> Spec.Input? {
        guard let f = fields(node, Schema.input, in: "input") else { return nil }
        let channels = f["channels"].flatMap { positiveInt($0, "channels") }
        var height = f["height"].flatMap { positiveInt($0, "height") }
        var width = f["width"].flatMap { positiveInt($0, "width") }
        if let s = f["size"] {
            if height != nil || width != nil {
                error("'size' and 'height'/'width' both give the input size", at: s,
                      help: "keep 'size' for a square input, or 'height' and 'width'")
            }
            height = positiveInt(s, "size")
            width = height
        } else if height == nil || width == nil {
            error("input needs 'size' (or 'height' and 'width')", at: node, help: "e.g. 'input: {channels: 1, size: 96}'")
            return nil
        }
        guard let channels, let height, let width else { return nil }
        return Spec.Input(channels: channels, height: height, width: width, location: node.location)
    }

    private mutating func readDefaults(_ node: YAMLNode) -> Spec.Defaults {
        var d = Spec.Defaults()
        guard let f = fields(node, Schema.defaults, in: "defaults") else { return d }
        if let v = f["bias"], let b = bool(v, "bias") { d.bias = b }
        if let v = f["bn_eps"], let x = positiveNumber(v, "bn_eps") { d.bnEps = x }
        if let v = f["bn_momentum"], let x = number(v, "bn_momentum") {
            if (0...1).contains(x) { d.bnMomentum = x } else {
                error("'bn_momentum' must be between 0 and 1, got \(Value.format(x))", at: v)
            }
        }
        return d
    }

    // MARK: - Blocks

    mutating func readBlocks(_ node: YAMLNode) -> [(String, BlockTemplate)] {
        guard let entries = mapping(node, "blocks") else { return [] }
        var out: [(String, BlockTemplate)] = []
        for (key, value) in entries {
            guard let name = string(key, "block name") else { continue }
            if Schema.layers[name] != nil {
                error("block '\(name)' has the name of a built-in layer", at: key, help: "rename the block")
                continue
            }
            if let t = readBlock(name, value, at: key.location) { out.append((name, t)) }
        }
        return out
    }

    private mutating func readBlock(_ name: String, _ node: YAMLNode, at location: SourceLocation) -> BlockTemplate? {
        guard let f = fields(node, Schema.block, in: "block '\(name)'") else { return nil }
        var parameters = [
            BlockTemplate.Parameter(name: "channels", type: .int, defaultValue: nil, optional: false, oneOf: nil, location: location),
            BlockTemplate.Parameter(name: "stride", type: .int, defaultValue: SourceValue(.literal(.int(1)), at: location),
                                    optional: false, oneOf: nil, location: location),
        ]
        if let p = f["params"], let entries = mapping(p, "params") {
            for (key, value) in entries {
                guard let pname = string(key, "parameter name") else { continue }
                guard let param = readParameter(pname, value, at: key.location) else { continue }
                if let i = parameters.firstIndex(where: { $0.name == pname }) { parameters[i] = param } else { parameters.append(param) }
            }
        }
        var derived: [(String, SourceValue)] = []
        if let l = f["let"], let entries = mapping(l, "let") {
            for (key, value) in entries {
                guard let lname = string(key, "name") else { continue }
                // Keep a refused value's name, so `$name` further on is not also "undefined".
                derived.append((lname, argument(value, lname) ?? SourceValue(.refused, at: value.location)))
            }
        }
        if let body = f["body"], body.sequence?.isEmpty == true {
            // The residual add would then sum the input with itself: a silent doubling.
            error("block '\(name)' has an empty body", at: body,
                  help: "give 'body' the residual branch's layers, e.g. '[conv: {out: $channels, kernel: 3, pad: 1}, batchnorm]'")
        }
        var shortcut: BlockTemplate.Shortcut? = BlockTemplate.Shortcut()
        if let s = f["shortcut"], let text = s.string {
            shortcut = nil
            if text != "none" {
                error("shortcut must be a mapping or 'none', got the string '\(text)'", at: s,
                      help: "write 'shortcut: none' for a block without a residual add, or give its keys: 'shortcut: {projection: [...]}'")
            }
        } else if let s = f["shortcut"], let sf = fields(s, Schema.shortcut, in: "shortcut") {
            let projection = sf["projection"].map { layers($0, "projection") } ?? []
            shortcut?.projection = projection
            shortcut?.when = projection.isEmpty ? .never : .shapeChanges
            if let w = sf["when"], let text = string(w, "when") {
                if let when = BlockTemplate.Shortcut.When(rawValue: text) { shortcut?.when = when } else {
                    error("unknown shortcut condition '\(text)'", at: w,
                          help: DidYouMean.help(text, from: BlockTemplate.Shortcut.When.allCases.map(\.rawValue), what: "conditions"))
                }
            }
            func tap(_ key: String) -> LayerReference? {
                guard let node = sf[key], let layer = string(node, key) else { return nil }
                return .init(layer: layer, location: node.location)
            }
            shortcut?.projectionFrom = tap("projection_from")
            shortcut?.identityFrom = tap("identity_from")
        }
        return BlockTemplate(name: name, doc: f["doc"].flatMap { string($0, "doc") }, parameters: parameters,
                             derived: derived, body: f["body"].map { layers($0, "body") } ?? [],
                             shortcut: shortcut, after: f["after"].map { layers($0, "after") } ?? [],
                             location: location)
    }

    private mutating func readParameter(_ name: String, _ node: YAMLNode, at location: SourceLocation) -> BlockTemplate.Parameter? {
        // `name: int` is short for `name: {type: int}`.
        if node.string != nil {
            guard let type = valueType(node) else { return nil }
            return .init(name: name, type: type, defaultValue: nil, optional: false, oneOf: nil, location: location)
        }
        guard let f = fields(node, Schema.parameter, in: "parameter '\(name)'"), let t = f["type"], let type = valueType(t) else { return nil }
        var p = BlockTemplate.Parameter(name: name, type: type, defaultValue: nil, optional: false, oneOf: nil, location: location)
        if let d = f["default"] { p.defaultValue = argument(d, "default") }
        if let o = f["optional"] { p.optional = bool(o, "optional") ?? false }
        if let o = f["one_of"], let items = sequence(o, "one_of") {
            p.oneOf = items.compactMap { item in
                guard case .literal(let v)? = argument(item, "one_of")?.content else { return nil }
                return v
            }
        }
        return p
    }

    private mutating func valueType(_ node: YAMLNode) -> ValueType? {
        guard let text = string(node, "type") else { return nil }
        if let t = ValueType(rawValue: text) { return t }
        error("unknown parameter type '\(text)'", at: node,
              help: DidYouMean.help(text, from: ValueType.allCases.map(\.rawValue), what: "types"))
        return nil
    }

    // MARK: - Layers

    /// A layer list: each item is a layer or block name (`relu`) or a one-key mapping (`conv: {...}`).
    mutating func layers(_ node: YAMLNode, _ what: String) -> [LayerCall] {
        guard let items = sequence(node, what) else { return [] }
        var out: [LayerCall] = []
        for item in items {
            if let text = item.string {
                guard !text.isEmpty else { error("empty layer in '\(what)'", at: item); continue }
                out.append(LayerCall(kind: text, arguments: [:], name: nil, location: item.location))
                continue
            }
            guard let entries = item.mapping, entries.count == 1 else {
                error("a layer is a name ('relu') or a mapping with one key ('conv: {out: 64, kernel: 3}'), got \(item.kindDescription)",
                      at: item)
                continue
            }
            let (key, value) = entries[0]
            guard let kind = string(key, "layer") else { continue }
            var call = LayerCall(kind: kind, arguments: [:], name: nil, location: key.location)
            if value.isNull {
                out.append(call)
                continue
            }
            guard let attributes = mapping(value, "'\(kind)'") else { continue }
            for (k, v) in attributes {
                guard let attr = string(k, "attribute") else { continue }
                call.keyLocations[attr] = k.location
                if attr == "name" {
                    call.name = string(v, "name")
                } else if attr == "from" {
                    call.from = references(v)
                } else if let arg = argument(v, attr) {
                    call.arguments[attr] = arg
                }
            }
            out.append(call)
        }
        return out
    }

    /// `from:`: one layer name or a list of them.
    mutating func references(_ node: YAMLNode) -> [LayerReference]? {
        let items = node.string != nil ? [node] : sequence(node, "from")
        guard let items, !items.isEmpty else {
            if node.sequence?.isEmpty == true {
                error("'from' names no layer", at: node, help: "name the layers to read, e.g. 'from: [relu1, relu2]'")
            }
            return nil
        }
        let names = items.compactMap { item in string(item, "from").map { LayerReference(layer: $0, location: item.location) } }
        return names.count == items.count ? names : nil
    }

    /// A value that may be an expression: any scalar containing `$`.
    mutating func argument(_ node: YAMLNode, _ what: String) -> SourceValue? {
        guard let text = node.string else {
            error("'\(what)' must be a single value, got \(node.kindDescription)", at: node)
            return nil
        }
        if text.contains("$") {
            // Inside quotes, so that an offset into the expression's text is a column.
            var inside = node.location
            if case .scalar(let s) = node.kind, s.style == .singleQuoted || s.style == .doubleQuoted, inside.length >= 2 {
                inside.column += 1
                inside.length -= 2
            }
            switch Expression.parse(text) {
            case .success(let e):
                return SourceValue(.expression(e, text: text), at: inside)
            case .failure(let failure):
                var at = inside
                at.column += failure.offset
                at.length = 1
                diagnostics.append(.error("in expression '\(YAMLNode.excerpt(text, limit: 60))': \(failure.message)", at: at, help: failure.help))
                return nil
            }
        }
        return SourceValue(.literal(node.isPlainScalar ? Self.plainValue(text) : .string(text)), at: node.location)
    }

    /// Types a plain scalar by the YAML 1.2 core schema, without YAML 1.1's guesses
    /// (`no` and `on` stay strings).
    static func plainValue(_ text: String) -> Value {
        if let i = Int(text) { return .int(i) }
        if text == "true" { return .bool(true) }
        if text == "false" { return .bool(false) }
        if let d = Double(text), d.isFinite, text.allSatisfy({ "0123456789.eE+-".contains($0) }) { return .double(d) }
        return .string(text)
    }

    // MARK: - Stages

    private mutating func readStages(_ node: YAMLNode, blocks: [String: BlockTemplate]) -> [Stage] {
        if node.mapping != nil { return readStageLists(node, blocks: blocks) }
        guard let items = sequence(node, "stages") else { return [] }
        if items.isEmpty { error("'stages' is empty", at: node, help: "give at least one stage, e.g. '- {block: residual, depth: 2, channels: 64}'") }
        return items.compactMap { item in
            guard let entries = mapping(item, "a stage") else { return nil }
            return stage(entries.map { ($0.0, $0.1) }, at: item, blocks: blocks)
        }
    }

    /// One stage from its entries, checked against the stage keys and the template's parameters.
    private mutating func stage(_ entries: [(YAMLNode, YAMLNode)], at node: YAMLNode, blocks: [String: BlockTemplate]) -> Stage? {
        var args: [String: SourceValue] = [:]
        var blockName: String?
        var blockLocation = node.location
        var seen: [String: YAMLNode] = [:]
        for (k, v) in entries {
            guard let key = string(k, "key") else { continue }
            seen[key] = k
            if key == "block" {
                blockName = string(v, "block")
                blockLocation = v.location
            } else if let a = argument(v, key) {
                args[key] = a
            }
        }
        guard let blockName else {
            error("stage is missing 'block'", at: node, help: "add 'block: residual' (or bottleneck, resnext, preact)")
            return nil
        }
        guard let template = blocks[blockName] else {
            diagnostics.append(.error("unknown block '\(blockName)'", at: blockLocation,
                                      help: DidYouMean.help(blockName, from: Array(blocks.keys), what: "blocks")))
            return nil
        }
        let known = Array(Set(Schema.stage.map(\.name) + template.parameters.map(\.name))).sorted()
        var misspelt: Set<String> = []
        for (key, k) in seen.sorted(by: { $0.value.location < $1.value.location }) where !known.contains(key) {
            if let s = DidYouMean.suggest(key, from: known) { misspelt.insert(s) }
            diagnostics.append(.error("unknown key '\(key)' for a stage of '\(blockName)' blocks", at: k.location,
                                      help: DidYouMean.help(key, from: known, what: "keys")))
            args[key] = nil
        }
        // A misspelt required key is reported once, as the misspelling.
        for key in ["depth", "channels"] where seen[key] == nil && !misspelt.contains(key) {
            error("stage is missing '\(key)'", at: node, help: "add '\(key): ...'")
        }
        return Stage(block: blockName, blockLocation: blockLocation, arguments: args, location: node.location)
    }

    /// pycls-style stages: `{block: resnext, depths: [...], widths: [...], group_widths: [...]}`.
    private mutating func readStageLists(_ node: YAMLNode, blocks: [String: BlockTemplate]) -> [Stage] {
        guard let entries = mapping(node, "stages") else { return [] }
        var lists: [(key: YAMLNode, singular: String, items: [YAMLNode])] = []
        var scalars: [(YAMLNode, YAMLNode)] = []
        for (k, v) in entries {
            guard let key = string(k, "key") else { continue }
            if let pair = Schema.stageLists.first(where: { $0.plural == key }) {
                if let items = sequence(v, key) { lists.append((k, pair.singular, items)) }
            } else if v.sequence != nil {
                error("'\(key)' is a list, but only per-stage keys take lists here", at: k,
                      help: "per-stage lists are " + Schema.stageLists.map(\.plural).joined(separator: ", "))
            } else {
                scalars.append((k, v))
            }
        }
        guard let first = lists.first else {
            error("pycls-style stages need per-stage lists", at: node, help: "e.g. 'depths: [2, 2, 2, 2]' and 'widths: [64, 128, 256, 512]'")
            return []
        }
        let count = first.items.count
        guard count > 0 else {
            error("'\(first.key.string ?? "")' is empty: the network would have no stages", at: first.key,
                  help: "give one entry per stage, e.g. 'depths: [2, 2, 2, 2]'")
            return []
        }
        if let odd = lists.first(where: { $0.items.count != count }) {
            let lengths = lists.map { "\($0.key.string ?? "") has \($0.items.count)" }.joined(separator: ", ")
            diagnostics.append(.error("per-stage lists differ in length: \(lengths)", at: odd.key.location,
                                      help: "give every per-stage list one entry per stage"))
            return []
        }
        return (0..<count).compactMap { i in
            let perStage = lists.map { (YAMLNode.syntheticKey($0.singular, at: $0.key.location), $0.items[i]) }
            return stage(scalars + perStage, at: lists[0].items[i], blocks: blocks)
        }
    }

    // MARK: - Training

    private mutating func readTrain(_ node: YAMLNode) -> TrainSpec? {
        guard let f = fields(node, Schema.train, in: "train") else { return nil }
        var t = TrainSpec()
        if let v = f["dataset"], let s = string(v, "dataset") { t.dataset = s }
        if let v = f["resize"], let i = recipeCount(v, "resize") { t.resize = i }
        if let v = f["batch"], let i = recipeCount(v, "batch") { t.batch = i }
        if let v = f["epochs"], let i = recipeCount(v, "epochs") { t.epochs = i }
        if let v = f["seed"], let i = int(v, "seed"), within(RecipeLimits.seed(i), v, "seed") { t.seed = i }
        if let v = f["warmup_epochs"], let i = int(v, "warmup_epochs"), within(RecipeLimits.warmupEpochs(i), v, "warmup_epochs") {
            t.warmupEpochs = i
        }
        if let v = f["init"], let s = string(v, "init") {
            if let i = TrainSpec.Initializer(rawValue: s) { t.initializer = i } else {
                error("unknown initialisation '\(s)'", at: v,
                      help: DidYouMean.help(s, from: TrainSpec.Initializer.allCases.map(\.rawValue), what: "initialisations"))
            }
        }
        if let v = f["optimizer"], let (kind, body) = oneKey(v, "optimizer", choices: TrainSpec.Optimizer.allCases.map(\.rawValue)),
           let optimizer = TrainSpec.Optimizer(rawValue: kind) {
            readOptimizer(optimizer, body, into: &t)
        }
        if let v = f["normalize"] { t.normalize = readNormalization(v) }
        if let v = f["augment"], let g = fields(v, Schema.augment, in: "augment") {
            var a = TrainSpec.Augmentation()
            if let v = g["crop_padding"], let i = int(v, "crop_padding") {
                if i >= 0 && i <= RecipeLimits.maxCount { a.cropPadding = i } else {
                    error("'crop_padding' must be from 0 to \(RecipeLimits.maxCount), got \(i)", at: v, help: "torchvision's CIFAR recipe pads by 4")
                }
            }
            if let v = g["flip"], let b = bool(v, "flip") { a.flip = b }
            t.augment = a
        }
        if let v = f["schedule"], let (kind, body) = oneKey(v, "schedule", choices: ["constant", "step", "cosine"]) {
            switch kind {
            case "cosine": t.schedule = .cosine
            case "step":
                if let g = fields(body, Schema.stepSchedule, in: "step"), let every = g["every"].flatMap({ positiveInt($0, "every") }) {
                    t.schedule = .step(every: every, gamma: g["gamma"].flatMap { positiveNumber($0, "gamma") } ?? 0.1)
                }
            default: t.schedule = .constant
            }
        }
        return t
    }

    /// `computed`, or `{mean: [...], std: [...]}` with as many finite values in each (the input's
    /// channel count is checked against the data when training starts).
    private mutating func readNormalization(_ node: YAMLNode) -> TrainSpec.Normalization? {
        if node.string == "computed" { return .computed }
        guard node.mapping != nil else {
            error("'normalize' is \(node.string.map { "'\($0)'" } ?? "not a mapping"); it takes 'computed' or '{mean: [...], std: [...]}'", at: node,
                  help: "e.g. Fashion-MNIST's 'normalize: {mean: [0.286], std: [0.353]}'")
            return nil
        }
        guard let g = fields(node, Schema.normalize, in: "normalize"),
              let meanNode = g["mean"], let stdNode = g["std"],
              let means = sequence(meanNode, "mean"), let stds = sequence(stdNode, "std") else { return nil }
        let mean = means.compactMap { number($0, "mean") }
        var std: [Double] = []
        for n in stds {
            guard let x = number(n, "std") else { continue }
            if x.isFinite && x > 0 { std.append(x) } else { error("'std' must be positive, got \(Value.format(x))", at: n) }
        }
        guard mean.count == means.count, std.count == stds.count else { return nil }
        guard !mean.isEmpty, mean.count == std.count else {
            error("'normalize' has \(mean.count) mean(s) and \(std.count) std(s); it takes one of each per input channel", at: node)
            return nil
        }
        return .given(mean: mean, std: std)
    }

    /// An optimizer's section, over its own defaults (AdamW's lr 0.001 and weight decay 0.01).
    private mutating func readOptimizer(_ optimizer: TrainSpec.Optimizer, _ body: YAMLNode, into t: inout TrainSpec) {
        let keys = switch optimizer { case .sgd: Schema.sgd; case .adamw: Schema.adamw }
        let defaults = TrainSpec.defaults(for: optimizer)
        (t.optimizer, t.lr, t.weightDecay) = (optimizer, defaults.lr, defaults.weightDecay)
        guard let g = fields(body, keys, in: optimizer.rawValue) else { return }
        if let v = g["lr"], let x = number(v, "lr"), within(RecipeLimits.learningRate(x), v, "lr") { t.lr = x }
        if let v = g["momentum"], let x = number(v, "momentum"), within(RecipeLimits.momentum(x), v, "momentum",
                                                                       help: "d2l and torchvision use 'momentum: 0.9'") {
            t.momentum = x
        }
        if let v = g["nesterov"], let b = bool(v, "nesterov") { t.nesterov = b }
        if let v = g["betas"], let items = sequence(v, "betas") {
            let betas = items.compactMap { item in number(item, "betas").flatMap { within(RecipeLimits.beta($0), item, "betas") ? $0 : nil } }
            if items.count != 2 {
                error("'betas' has \(items.count) value(s); it takes two, the decay rates of the first and second moments", at: v,
                      help: "PyTorch's default is 'betas: [0.9, 0.999]'")
            } else if betas.count == 2 {
                (t.beta1, t.beta2) = (betas[0], betas[1])
            }
        }
        if let v = g["eps"], let x = number(v, "eps"), within(RecipeLimits.epsilon(x), v, "eps") { t.epsilon = x }
        if let v = g["weight_decay"], let x = number(v, "weight_decay"), within(RecipeLimits.weightDecay(x), v, "weight_decay") {
            t.weightDecay = x
        }
        if let v = g["decay_norm_and_bias"], let b = bool(v, "decay_norm_and_bias") { t.decayNormAndBias = b }
    }

    /// A recipe count (resize, batch, epochs): below 1 refused in `RecipeLimits.count`'s words, as
    /// the command line refuses its flags; beyond netc's sizes and counts, as `positiveInt` does.
    private mutating func recipeCount(_ node: YAMLNode, _ what: String) -> Int? {
        if let t = node.string, node.isPlainScalar, let i = Int(t), !within(RecipeLimits.count(i), node, what) { return nil }
        return positiveInt(node, what)
    }

    /// Whether a recipe value passed its `RecipeLimits` check; if not, reports the problem at the value.
    private mutating func within(_ problem: String?, _ node: YAMLNode, _ what: String, help: String? = nil) -> Bool {
        guard let problem else { return true }
        error("'\(what)' \(problem)", at: node, help: help)
        return false
    }

    /// `{name: {...}}` or a bare `name` among `choices`.
    private mutating func oneKey(_ node: YAMLNode, _ what: String, choices: [String]) -> (String, YAMLNode)? {
        let key: YAMLNode, body: YAMLNode
        if node.string != nil {
            (key, body) = (node, YAMLNode.emptyMapping(at: node.location))
        } else if let e = node.mapping, e.count == 1 {
            (key, body) = (e[0].key, e[0].value.isNull ? YAMLNode.emptyMapping(at: e[0].value.location) : e[0].value)
        } else {
            error("'\(what)' takes one of \(choices.joined(separator: ", ")), as 'name' or '{name: {...}}'", at: node)
            return nil
        }
        guard let name = string(key, what) else { return nil }
        guard choices.contains(name) else {
            error("unknown \(what) '\(name)'", at: key, help: DidYouMean.help(name, from: choices, what: "choices"))
            return nil
        }
        return (name, body)
    }

    // MARK: - Typed access with diagnostics

    /// The entries of a mapping checked against `keys`: unknown keys (with did-you-mean) and
    /// missing required keys are reported; known keys are returned.
    mutating func fields(_ node: YAMLNode, _ keys: [Schema.Key], in what: String) -> Fields? {
        guard let entries = mapping(node, what) else { return nil }
        var f = Fields()
        let names = keys.map(\.name)
        var misspelt: Set<String> = []
        for (k, v) in entries {
            guard let key = string(k, "key") else { continue }
            guard names.contains(key) else {
                if let s = DidYouMean.suggest(key, from: names) { misspelt.insert(s) }
                diagnostics.append(.error("unknown key '\(key)' in \(what)", at: k.location,
                                          help: Schema.retired["\(what).\(key)"] ?? DidYouMean.help(key, from: names, what: "keys")))
                continue
            }
            f.entries[key] = (k, v)
        }
        for key in keys where key.required && f.entries[key.name] == nil && !misspelt.contains(key.name) {
            error("\(what) is missing '\(key.name)' (\(key.doc))", at: node, help: "add '\(key.name): ...'")
        }
        return f
    }

    mutating func mapping(_ node: YAMLNode, _ what: String) -> [(key: YAMLNode, value: YAMLNode)]? {
        if let e = node.mapping { return e }
        error("\(what) must be a mapping ('key: value' lines), got \(node.kindDescription)", at: node)
        return nil
    }

    mutating func sequence(_ node: YAMLNode, _ what: String) -> [YAMLNode]? {
        if let s = node.sequence { return s }
        error("'\(what)' must be a list, got \(node.kindDescription)", at: node, help: "write '[a, b]' or '- a' lines")
        return nil
    }

    mutating func string(_ node: YAMLNode, _ what: String) -> String? {
        if let t = node.string { return t }
        error("'\(what)' must be a name, got \(node.kindDescription)", at: node)
        return nil
    }

    mutating func int(_ node: YAMLNode, _ what: String) -> Int? {
        if let t = node.string, node.isPlainScalar, let i = Int(t) { return i }
        if let t = node.string, node.isPlainScalar, Self.isIntegerLiteral(t) {
            error("'\(what)' is \(YAMLNode.excerpt(t)), beyond the 64-bit integers netc reads", at: node)
            return nil
        }
        // Int(exactly:) rather than Int(_:), which traps on 1e19 or 1e308.
        let number = node.string.flatMap(Double.init)
        let help = number.map { d in
            Int(exactly: d.rounded()).map { "use a whole number, e.g. '\(what): \($0)'" }
                ?? "use a whole number; sizes and counts go up to \(Compiler.maxValue)"
        }
        error("'\(what)' must be an integer, got \(node.kindDescription)", at: node, help: help)
        return nil
    }

    /// Digits with an optional sign: an integer however large, unlike `Int(text)`.
    static func isIntegerLiteral(_ text: String) -> Bool {
        let digits = text.first == "-" || text.first == "+" ? text.dropFirst() : Substring(text)
        return !digits.isEmpty && digits.allSatisfy { $0.isASCII && $0.isNumber }
    }

    mutating func positiveInt(_ node: YAMLNode, _ what: String) -> Int? {
        if let t = node.string, node.isPlainScalar, Int(t) == nil, Self.isIntegerLiteral(t), t.first != "-" {
            error("'\(what)' is \(YAMLNode.excerpt(t)); netc takes values up to \(Compiler.maxValue)", at: node)
            return nil
        }
        guard let i = int(node, what) else { return nil }
        guard i > 0 else { error("'\(what)' must be positive, got \(i)", at: node); return nil }
        guard i <= Compiler.maxValue else { error("'\(what)' is \(i); netc takes values up to \(Compiler.maxValue)", at: node); return nil }
        return i
    }

    mutating func number(_ node: YAMLNode, _ what: String) -> Double? {
        if let t = node.string, node.isPlainScalar, case let v = Self.plainValue(t), let d = v.asDouble { return d }
        error("'\(what)' must be a number, got \(node.kindDescription)", at: node)
        return nil
    }

    mutating func positiveNumber(_ node: YAMLNode, _ what: String) -> Double? {
        guard let d = number(node, what) else { return nil }
        guard d > 0 else { error("'\(what)' must be positive, got \(Value.format(d))", at: node); return nil }
        return d
    }

    mutating func bool(_ node: YAMLNode, _ what: String) -> Bool? {
        if let t = node.string, node.isPlainScalar, case .bool(let b) = Self.plainValue(t) { return b }
        error("'\(what)' must be true or false, got \(node.kindDescription)", at: node,
              help: ["yes", "no", "on", "off", "y", "n"].contains(node.string?.lowercased() ?? "")
                ? "netc reads YAML 1.2: only 'true' and 'false' are booleans" : nil)
        return nil
    }

    mutating func error(_ message: String, at node: YAMLNode, help: String? = nil) {
        diagnostics.append(.error(message, at: node.location, help: help))
    }

    mutating func error(_ message: String, at location: SourceLocation, help: String? = nil) {
        diagnostics.append(.error(message, at: location, help: help))
    }
}
