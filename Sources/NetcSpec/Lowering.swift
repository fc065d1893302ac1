import NetcIR

/// Lowers a `Spec` to the graph IR: expands stages into blocks and block templates into layers,
/// infers every shape, and reports what does not fit at the YAML the user wrote.
///
/// Errors inside a bundled template are reported at the user's stage or layer that instantiated
/// it, with a note pointing into the template, so every message leads back to the user's file.
struct Lowering {
    let spec: Spec
    var builder = GraphBuilder()
    var diagnostics: [Diagnostic] = []
    /// Blocks in each stage (0 for a stage that failed), from which `pytorch_names` count `{n}`.
    var stageDepths: [Int] = []
    /// The PyTorch names template layers give themselves (`pytorch: downsample.0`), by netc's
    /// name of the layer (`stages.2.0.conv4`).
    var pytorchLayerNames: [String: String] = [:]

    /// A parameter's value and where it was written.
    struct Binding {
        var value: Value
        var origin: SourceLocation
        /// For derived values: how the value came about, for messages.
        var derivation: String?
    }
    typealias Environment = [String: Binding]

    /// Where we are in the expansion, for names and for pointing errors at the user's file.
    struct Context {
        /// Name prefix of layers (`stages.1.0`).
        var prefix: String
        /// The outermost location in the user's file that led here.
        var callSite: SourceLocation?
        /// Templates being expanded, outermost first, to catch recursion.
        var blocks: [String] = []
        /// Layer counters per kind, shared by body, shortcut and after so names stay unique (`conv3`).
        var counters: [String: Int] = [:]
        /// Optional parameters left unset: an attribute written exactly `$name` is then omitted.
        var unset: Set<String> = []
        /// The tensors `from:` may name here: `input` and each layer so far by its name in the
        /// block or list (nil for one whose error is reported, so naming it stays silent).
        var scope: [String: Node.ID?] = [:]
        /// Names of the layers made here (a layer left out by its `if` takes none, so two
        /// alternatives may share a name).
        var taken: Set<String> = []
    }

    /// Deepest chain of blocks using blocks: expansion recurses once per level.
    static let maxBlockNesting = 32

    /// Globals written in the spec but refused (`classes: 1e19`): their error is reported once.
    var refusedGlobals: Set<String> {
        spec.classes == nil && spec.classesLocation != nil ? ["classes"] : []
    }

    init(spec: Spec) { self.spec = spec }

    mutating func lower() -> Graph? {
        var globals: Environment = [:]
        if let classes = spec.classes, let origin = spec.classesLocation {
            globals["classes"] = Binding(value: .int(classes), origin: origin)
        }
        let input = builder.addInput(spec.input.shape, origin: spec.input.location)
        var x: Node.ID? = input

        if !spec.layers.isEmpty {
            builder.beginModule("layers", kind: "layers", origin: spec.layers.first?.location)
            var whole = Context(prefix: "layers")
            x = layers(spec.layers, x, globals, &whole)
            builder.endModule()
        }
        builder.beginModule("stem", kind: "stem", origin: spec.stem.first?.location)
        var stem = Context(prefix: "stem")
        stem.scope["input"] = x
        // A failed stem layer passes its input on, so the stages are still checked.
        for call in spec.stem { x = layer(call, x, globals, &stem) ?? x }
        builder.endModule()
        stageDepths = Array(repeating: 0, count: spec.stages.count)
        for (i, stage) in spec.stages.enumerated() {
            builder.beginModule("stages.\(i)", kind: "stage", origin: stage.location)
            let out = lowerStage(stage, index: i, x, globals)
            builder.endModule()
            x = out ?? x.map { recover(after: stage, from: $0) }
        }
        builder.beginModule("head", kind: "head", origin: spec.head.first?.location)
        var head = Context(prefix: "head")
        x = layers(spec.head, x, globals, &head)
        builder.endModule()
        guard let output = x, !diagnostics.hasErrors else { return nil }
        let graph = builder.finish(name: spec.name, input: input, output: output)
        warnAboutUnreadLayers(graph)
        return graph
    }

    /// With `from:`, a layer can lead nowhere: it would count in every figure and never learn.
    private mutating func warnAboutUnreadLayers(_ graph: Graph) {
        var read = Set(graph.nodes.flatMap(\.inputs))
        read.insert(graph.output)
        for node in graph.nodes where !read.contains(node.id) && !(node.op is Input) {
            diagnostics.append(.warning("nothing reads the output of \(node.name)", at: node.origin,
                                        help: "name it in a later layer's 'from:', or remove it: it counts in the parameters and costs but never learns"))
        }
    }

    // MARK: - Stages

    private mutating func lowerStage(_ stage: Stage, index: Int, _ input: Node.ID?, _ globals: Environment) -> Node.ID? {
        guard let template = spec.blocks[stage.block] else { return nil }
        var args: Environment = globals
        for (name, arg) in stage.arguments {
            if let b = evaluate(arg, globals, callSite: stage.location) { args[name] = b }
        }
        let stageContext = Context(prefix: "stages.\(index)", callSite: stage.location)
        let depth = args["depth"].flatMap { positive($0, "depth", stageContext) }
        guard args["channels"].flatMap({ positive($0, "channels", stageContext) }) != nil else { return nil }
        if let x = input, builder.shape(of: x).isMap, builder.shape(of: x).height == 1, builder.shape(of: x).width == 1 {
            diagnostics.append(.warning(
                "stage \(index) sees a 1x1 feature map (\(builder.shape(of: x)) for a \(spec.input.shape) input)",
                at: stage.location,
                help: "its convolutions see mostly padding; use a larger input or fewer stride-2 stages"))
        }
        guard let depth else { return nil }
        stageDepths[index] = depth
        args["depth"] = nil
        let stride = args["stride"]
        if let s = stride, case .int(let k) = s.value, k != 1, !uses(template, "stride") {
            diagnostics.append(.warning(
                "stage \(index) has stride \(k), but block '\(template.name)' uses no $stride: its blocks do not downsample",
                at: s.origin, help: "pass $stride to a layer of the block (e.g. 'conv: {..., stride: $stride}'), or drop the stride"))
        }
        var x = input
        for j in 0..<depth {
            // The stage's stride applies to its first block only.
            if j > 0, let s = stride { args["stride"] = Binding(value: .int(1), origin: s.origin) }
            let prefix = "stages.\(index).\(j)"
            builder.beginModule(prefix, kind: template.name, origin: stage.location)
            var ctx = Context(prefix: prefix, callSite: stage.blockLocation)
            x = instantiate(template, args, x, &ctx, at: stage.location)
            builder.endModule()
            if x == nil && input != nil { return nil }
        }
        return x
    }

    /// Whether a template (or a block it uses as a layer, which sees its parameters) reads `$name`.
    private func uses(_ template: BlockTemplate, _ name: String, seen: Set<String> = []) -> Bool {
        func reads(_ v: SourceValue?) -> Bool {
            if case .expression(let e, _)? = v?.content { return e.references.contains { $0.name == name } }
            return false
        }
        let calls = template.body + (template.shortcut?.projection ?? []) + template.after
        if template.derived.contains(where: { reads($0.value) }) || template.parameters.contains(where: { reads($0.defaultValue) }) { return true }
        for call in calls {
            // A layer's PyTorch name may read a parameter, but does not use it for the network.
            if call.arguments.contains(where: { $0.key != "pytorch" && reads($0.value) }) { return true }
            if let inner = spec.blocks[call.kind], !seen.contains(inner.name), uses(inner, name, seen: seen.union([template.name])) { return true }
        }
        return false
    }

    /// After a stage fails, goes on from the shape it most likely meant to produce, so the stages
    /// after it are still checked and every error of the file is reported in one run.
    private mutating func recover(after stage: Stage, from input: Node.ID) -> Node.ID {
        let shape = builder.shape(of: input)
        func int(_ key: String) -> Int? {
            if case .literal(.int(let i))? = stage.arguments[key]?.content, i > 0 { return i }
            return nil
        }
        let stride = int("stride") ?? 1
        let guess = Shape.map(int("channels") ?? shape.channels, (shape.height - 1) / stride + 1, (shape.width - 1) / stride + 1)
        return builder.addInput(guess, origin: stage.location)
    }

    // MARK: - Blocks

    /// Expands a block template on `input` with the given arguments.
    private mutating func instantiate(_ template: BlockTemplate, _ args: Environment, _ input: Node.ID?,
                                      _ ctx: inout Context, at site: SourceLocation) -> Node.ID? {
        if let first = ctx.blocks.firstIndex(of: template.name) {
            let cycle = (ctx.blocks[first...] + [template.name]).joined(separator: " -> ")
            report(.error("block '\(template.name)' uses itself: \(cycle)", at: site,
                          help: "a block may use other blocks, but not itself"), ctx)
            return nil
        }
        ctx.blocks.append(template.name)
        defer { ctx.blocks.removeLast() }

        guard var env = bind(template, args, input, site: site, &ctx) else { return nil }
        for (name, arg) in template.derived {
            guard var b = evaluate(arg, env, callSite: ctx.callSite ?? site) else { return nil }
            if case .expression(_, let text) = arg.content {
                b.derivation = "\(name) = \(text) = \(b.value)" + bindingsText(of: arg, env)
            }
            env[name] = b
        }

        // Layers read the previous layer's output, or what their `from:` names in the block.
        ctx.scope["input"] = input
        var body = input
        for call in template.body { body = layer(call, body, env, &ctx) }
        guard let shortcut = template.shortcut else {
            // No implicit join: the body's joins are its own layers.
            var out = body
            for call in template.after { out = layer(call, out, env, &ctx) }
            return out
        }
        if let input, body == input, !template.body.isEmpty {
            // Every layer was dropped by its `if`: the add would double the input, which no block means.
            report(.error("block '\(template.name)' has no layers left in its body: every one has an 'if' that is false here",
                          at: site, help: "keep at least one layer of the body for these arguments, or use no block here"), ctx)
            return nil
        }

        // Each path of the shortcut reads the block input unless it names a body layer.
        func source(_ tap: LayerReference?, _ key: String) -> Node.ID?? {
            guard let tap else { return .some(input) }
            if let id = ctx.scope[tap.layer], tap.layer != "input" { return .some(id) }
            let layers = ctx.scope.keys.filter { $0 != "input" }
            report(.error("shortcut '\(key): \(tap.layer)' names no layer of block '\(template.name)'", at: tap.location,
                          help: DidYouMean.help(tap.layer, from: Array(layers), what: "its layers")), ctx)
            return nil
        }
        guard let projectionSource = source(shortcut.projectionFrom, "projection_from"),
              let identitySource = source(shortcut.identityFrom, "identity_from"),
              let bodyOut = body, let projectionIn = projectionSource, let identity = identitySource else { return nil }

        let project: Bool
        switch shortcut.when {
        case .always: project = true
        case .shapeChanges: project = builder.shape(of: bodyOut) != builder.shape(of: identity)
        case .never: project = false
        }
        var skip = identity
        if project {
            builder.beginModule("\(ctx.prefix).shortcut", kind: "shortcut", origin: template.location)
            skip = projectionIn
            for call in shortcut.projection {
                guard let s = layer(call, skip, env, &ctx) else { builder.endModule(); return nil }
                skip = s
            }
            builder.endModule()
        }

        let sum: Node.ID
        do {
            sum = try builder.add(Add(), [bodyOut, skip], name: "\(ctx.prefix).add", origin: template.location)
        } catch {
            let bodyShape = builder.shape(of: bodyOut), skipShape = builder.shape(of: skip)
            let skipWhat = project ? "the shortcut's projection"
                : (shortcut.identityFrom.map { "layer '\($0.layer)'" } ?? "the block input")
            report(.error("residual add of block '\(template.name)' does not fit: the body gives \(bodyShape), the shortcut gives \(skipShape)",
                          at: site,
                          help: shortcut.projection.isEmpty
                              ? "give the block a shortcut projection (e.g. a 1x1 conv with the block's stride) used when the shape changes"
                              : "make the projection produce \(bodyShape)",
                          notes: [.init("the body's output (\(bodyShape)) comes from \(builder.node(bodyOut).name)", at: builder.node(bodyOut).origin),
                                  .init("the shortcut (\(skipShape)) comes from \(skipWhat)", at: builder.node(skip).origin)]), ctx)
            return nil
        }
        var out: Node.ID? = sum
        for call in template.after { out = layer(call, out, env, &ctx) }
        return out
    }

    /// Binds a template's parameters to the given arguments, defaults and the block's input.
    private mutating func bind(_ template: BlockTemplate, _ args: Environment, _ input: Node.ID?,
                               site: SourceLocation, _ ctx: inout Context) -> Environment? {
        var env: Environment = [:]
        if let classes = args["classes"] { env["classes"] = classes }
        if let x = input {
            env["in_channels"] = Binding(value: .int(builder.shape(of: x).channels), origin: site)
        }
        var ok = true
        for p in template.parameters {
            if let given = args[p.name] {
                guard let v = p.type.coerce(given.value) else {
                    report(.error("'\(p.name)' of block '\(template.name)' must be \(article(p.type)), got \(given.value.phrase)",
                                  at: given.origin), ctx)
                    ok = false
                    continue
                }
                if let allowed = p.oneOf, !allowed.contains(v) {
                    report(.error("'\(p.name)' must be one of \(allowed.map(\.description).joined(separator: ", ")), got \(v)",
                                  at: given.origin), ctx)
                    ok = false
                    continue
                }
                env[p.name] = Binding(value: v, origin: given.origin)
            } else if let d = p.defaultValue {
                guard let b = evaluate(d, env, callSite: site), let v = p.type.coerce(b.value) else { ok = false; continue }
                env[p.name] = Binding(value: v, origin: b.origin)
            } else if p.optional {
                ctx.unset.insert(p.name)
            } else {
                report(.error("block '\(template.name)' needs '\(p.name)' (\(p.type.rawValue))", at: site,
                              help: "add '\(p.name): ...' to the stage"), ctx)
                ok = false
            }
        }
        return ok ? env : nil
    }

    // MARK: - Layers

    private mutating func layers(_ calls: [LayerCall], _ input: Node.ID?, _ env: Environment, _ ctx: inout Context) -> Node.ID? {
        ctx.scope["input"] = input
        var x = input
        for call in calls { x = layer(call, x, env, &ctx) }
        return x
    }

    /// Lowers one layer (or nested block) on `input`. With no input (an earlier error), the layer's
    /// attributes are still checked so that every error is reported in one run.
    private mutating func layer(_ call: LayerCall, _ input: Node.ID?, _ env: Environment, _ ctx: inout Context) -> Node.ID? {
        var site = ctx
        if site.callSite == nil || call.location.file == spec.file { site.callSite = call.location }
        if let name = call.name, let problem = nameProblem(name, ctx) {
            report(.error("layer name '\(name)' \(problem)", at: call.keyLocations["name"] ?? call.location,
                          help: "give the layer a name of its own, without dots, such as 'branch1'"), site)
            return nil
        }
        if let cond = call.arguments["if"] {
            guard let b = evaluate(cond, env, callSite: site.callSite) else { return nil }
            guard case .bool(let include) = b.value else {
                // At the `if` itself; where a parameter's value was set is a note.
                let notes: [Diagnostic.Note] = b.origin == cond.location ? [] : [.init("the value \(b.value) is set here", at: b.origin)]
                report(.error("'if' must be true or false, got \(b.value.phrase)", at: cond.location,
                              help: "write true, false or a comparison such as '$classes > 10'", notes: notes), site)
                return nil
            }
            if !include {
                // A layer left out passes its input on; a later `from:` naming it reads that.
                if let name = call.name { ctx.scope[name] = input }
                return input
            }
        }
        let output = layerOrBlock(call, input, env, &ctx, site: site)
        if let name = output.name { ctx.scope[name] = output.id; ctx.taken.insert(name) }
        if let pytorch = call.arguments["pytorch"] {
            namePyTorch(pytorch, of: call, output.id == nil ? nil : output.name, env, ctx, site: site)
        }
        return output.id
    }

    /// Records the name a template gives one of its layers in PyTorch (`pytorch: downsample.0`),
    /// which the spec's `pytorch_names` place under the block's; `local` is the layer's netc name in
    /// the block, nil when the layer was not made (its error is reported).
    private mutating func namePyTorch(_ arg: SourceValue, of call: LayerCall, _ local: String?, _ env: Environment,
                                      _ ctx: Context, site: Context) {
        guard let block = ctx.blocks.last else {
            report(.error("'pytorch' names a layer of a block template, and this '\(call.kind)' is not in one",
                          at: call.keyLocations["pytorch"] ?? call.location,
                          help: "name the spec's own layers in 'pytorch_names:', e.g. 'head.fc1: fc'"), site)
            return
        }
        // Written exactly `$name` for an optional parameter left unset, the layer keeps netc's name.
        if case .expression(.reference(let p, _), _) = arg.content, ctx.unset.contains(p) { return }
        guard let local, let b = evaluate(arg, env, callSite: site.callSite) else { return }
        // At the name as written: a name the template computes wrongly is the template's mistake,
        // not that of the parameter values it reads.
        let at = arg.location
        let what = "'pytorch' of '\(call.kind)' in block '\(block)'"
        let name: String
        switch b.value {
        case .string(let text): name = text
        case .int(let i) where i >= 0: name = String(i)
        case .int, .double, .bool:
            let quote: String? = if case .double = b.value { "quote a name made of numbers: 'pytorch: \"0.1\"'" } else { nil }
            report(.error("\(what) must be a PyTorch name such as 'downsample.0', got \(b.value.phrase)", at: at,
                          help: quote ?? "write the layer's name in its PyTorch block, or an expression giving one"), site)
            return
        }
        if let problem = TensorNaming.problem(withLayerName: name) {
            report(.error("\(what) is '\(name)', \(problem)", at: at,
                          help: "write the layer's name in its PyTorch block: attribute names and indices joined by dots, such as 'downsample.0' or 'f.se.fc1'"), site)
            return
        }
        pytorchLayerNames["\(ctx.prefix).\(local)"] = name
    }

    /// `layer`'s work once its `if` holds: the node it made (nil on an error) and its name in the
    /// block, under which `from:` finds it.
    private mutating func layerOrBlock(_ call: LayerCall, _ input: Node.ID?, _ env: Environment, _ ctx: inout Context,
                                       site: Context) -> (id: Node.ID?, name: String?) {
        if let template = spec.blocks[call.kind] {
            // Each nested block recurses once; a long chain would overflow the stack.
            guard ctx.blocks.count < Self.maxBlockNesting else {
                report(.error("blocks nest more than \(Self.maxBlockNesting) deep: \(chainText(ctx.blocks + [template.name]))",
                              at: call.location, help: "a block may use other blocks, but only a few levels deep"), site)
                return (nil, call.name)
            }
            let name = call.name ?? nextName(template.name, &ctx)
            guard let operands = operands(of: call, isJoin: false, input, arity: 1...1, ctx, site) else { return (nil, name) }
            var args = env
            for (name, arg) in call.arguments where name != "if" && name != "pytorch" {
                if let b = evaluate(arg, env, callSite: site.callSite) { args[name] = b }
            }
            let prefix = "\(ctx.prefix).\(name)"
            builder.beginModule(prefix, kind: template.name, origin: call.location)
            defer { builder.endModule() }
            var inner = Context(prefix: prefix, callSite: site.callSite, blocks: ctx.blocks)
            return (instantiate(template, args, operands[0], &inner, at: site.callSite ?? call.location), name)
        }
        guard let (declaration, type) = Operators.byKey[call.kind] else {
            let names = Operators.declarations.map(\.key) + Array(spec.blocks.keys)
            report(.error("unknown layer or block '\(call.kind)'", at: call.location,
                          help: DidYouMean.help(call.kind, from: names, what: "layers and blocks")), site)
            return (nil, call.name)
        }
        let known = declaration.attributes.map(\.name) + Schema.commonLayer.map(\.name)
        for attr in call.arguments.keys.sorted() where !known.contains(attr) {
            report(.error("unknown attribute '\(attr)' for '\(call.kind)'", at: call.keyLocations[attr] ?? call.location,
                          help: DidYouMean.help(attr, from: known, what: "its attributes")), site)
        }
        let attrs = LayerAttributes(call: call, env: env, context: site)
        let op = makeOp(type, call.kind, attrs, input)
        // Named before its operands are checked, so that a layer naming this one after an error stays silent.
        let local = call.name ?? nextName(declaration.namePrefix, &ctx)
        guard let operands = operands(of: call, isJoin: type.isJoin, input, arity: type.arity, ctx, site) else { return (nil, local) }
        guard let op, let xs = operands as? [Node.ID] else { return (nil, local) }
        let name = "\(ctx.prefix).\(local)"
        do {
            return (try builder.add(op, xs, name: name, origin: call.location), local)
        } catch {
            let inputs = xs.count == 1 ? "whose input is \(builder.shape(of: xs[0]))"
                : "whose inputs are " + xs.map { "\(builder.shape(of: $0)) from \(builder.node($0).name)" }.joined(separator: ", ")
            report(.error("\(error.message) (at \(name), \(inputs) for a \(spec.input.shape) network input)",
                          at: call.location, help: error.help), site)
            return (nil, local)
        }
    }

    /// Why a layer's `name:` cannot be used, or nil: `from:` and the dotted parameter names need
    /// each to be a plain word, unique in its block or list.
    private func nameProblem(_ name: String, _ ctx: Context) -> String? {
        if name.isEmpty { return "is empty" }
        if name == "input" { return "is reserved: 'from: input' reads the block's input" }
        if name.contains(".") { return "contains a dot, which separates the parts of parameter names" }
        if ctx.taken.contains(name) { return "is already used in this block" }
        return nil
    }

    /// The tensors a layer reads: the previous layer's output, what its `from:` names, or (a join
    /// given one name) the previous output and that one. Nil, reported, when they do not fit the
    /// layer; an operand is nil (silently) when an earlier error left it without a value.
    private mutating func operands(of call: LayerCall, isJoin: Bool, _ input: Node.ID?, arity: ClosedRange<Int>,
                                   _ ctx: Context, _ site: Context) -> [Node.ID?]? {
        guard let refs = call.from else {
            if isJoin && call.keyLocations["from"] == nil {   // a 'from' written but refused has its error
                report(.error("'\(call.kind)' needs 'from:' naming what it joins", at: call.location,
                              help: "write e.g. '\(call.kind): {from: [\(call.kind == "concat" ? "relu1, relu2" : "input, bn2")]}'"), site)
            }
            return isJoin ? nil : [input]
        }
        var operands: [Node.ID?] = isJoin && refs.count == 1 ? [input] : []
        var ok = true
        for ref in refs {
            if let id = ctx.scope[ref.layer] { operands.append(id); continue }
            let known = ctx.scope.keys.sorted()
            report(.error("'from: \(ref.layer)' names no earlier layer here", at: ref.location,
                          help: known.isEmpty ? "name an earlier layer of this list" : DidYouMean.help(ref.layer, from: known, what: "the layers before it")), site)
            ok = false
        }
        guard ok else { return nil }
        guard arity.contains(operands.count) else {
            let wants = arity.upperBound == Int.max ? "at least \(arity.lowerBound)" : "\(arity.lowerBound)"
            let unit = arity == 1...1 ? "tensor" : "tensors"
            report(.error("'\(call.kind)' reads \(wants) \(unit), 'from' gives \(operands.count)", at: call.from!.first!.location,
                          help: arity == 1...1 ? "name one layer, e.g. 'from: relu1'" : "name the tensors to join, e.g. 'from: [relu1, relu2]'"), site)
            return nil
        }
        return operands
    }

    /// The IR op of a layer of this kind with these attributes, or nil with the errors reported.
    /// The op of a layer call: its type reads the attributes, reporting what is wrong.
    private mutating func makeOp(_ type: any Operator.Type, _ key: String, _ a: LayerAttributes, _ input: Node.ID?) -> (any Operator)? {
        let inputShape = input.map { builder.shape(of: $0) }
        return withUnsafeMutablePointer(to: &self) { lowering in
            var reader = SpecAttributeReader(lowering: lowering, attributes: a, inputShape: inputShape)
            return type.make(key, &reader)
        }
    }

    private func nextName(_ prefix: String, _ ctx: inout Context) -> String {
        let n = ctx.counters[prefix, default: 0] + 1
        ctx.counters[prefix] = n
        return "\(prefix)\(n)"
    }

    // MARK: - Values

    /// Evaluates an argument. The result's origin is where the user wrote the value: an expression
    /// over parameters takes the origin of the first parameter that came from the user's file.
    mutating func evaluate(_ arg: SourceValue, _ env: Environment, callSite: SourceLocation?) -> Binding? {
        switch arg.content {
        case .literal(let v):
            return Binding(value: v, origin: arg.location)
        case .refused:
            return nil
        case .expression(let e, let text):
            switch e.evaluate({ env[$0]?.value }) {
            case .success(let v):
                let userOrigin = e.references.compactMap { env[$0.name]?.origin }.first { $0.file == spec.file }
                return Binding(value: v, origin: userOrigin ?? arg.location,
                               derivation: e.references.compactMap { env[$0.name]?.derivation }.first)
            case .failure(let f):
                // A global whose value was refused has its error already; what uses it stays silent.
                if e.references.contains(where: { env[$0.name] == nil && refusedGlobals.contains($0.name) }) { return nil }
                var at = arg.location
                at.column += f.offset
                at.length = max(1, at.length - f.offset)
                var help = f.help
                if f.message.hasPrefix("undefined parameter"), let missing = e.references.first(where: { env[$0.name] == nil }) {
                    help = env.isEmpty
                        ? "no parameters are defined here; a top-level 'classes: 10' defines $classes"
                        : DidYouMean.help(missing.name, from: Array(env.keys), what: "parameters here")
                }
                var ctx = Context(prefix: "")
                ctx.callSite = callSite
                report(.error("in '\(YAMLNode.excerpt(text, limit: 60))': \(f.message)", at: at, help: help), ctx)
                return nil
            }
        }
    }

    /// `a -> b -> c`, with the middle of a long chain elided.
    private func chainText(_ blocks: [String]) -> String {
        guard blocks.count > 6 else { return blocks.joined(separator: " -> ") }
        return (blocks.prefix(3) + ["..."] + blocks.suffix(3)).joined(separator: " -> ")
    }

    private func bindingsText(of arg: SourceValue, _ env: Environment) -> String {
        guard case .expression(let e, _) = arg.content else { return "" }
        var seen: [String] = []
        for r in e.references where !seen.contains(r.name) { seen.append(r.name) }
        let parts = seen.compactMap { n in env[n].map { "\(n)=\($0.value)" } }
        return parts.isEmpty ? "" : " with " + parts.joined(separator: ", ")
    }

    /// Reports a diagnostic; one located outside the user's file moves to the user's call site,
    /// with a note that points into the template.
    mutating func report(_ d: Diagnostic, _ ctx: Context) {
        var d = d
        if let at = d.location, at.file != spec.file, let site = ctx.callSite {
            let block = ctx.blocks.last.map { "in block '\($0)'" } ?? "here"
            d.notes.insert(.init("\(block), from its definition", at: at), at: 0)
            d.location = site
        }
        diagnostics.append(d)
    }


    private func article(_ t: ValueType) -> String {
        switch t {
        case .int: "an integer"
        case .number: "a number"
        case .string: "a string"
        case .bool: "true or false"
        }
    }

    mutating func positive(_ b: Binding, _ what: String, _ ctx: Context) -> Int? {
        guard case .int(let i)? = ValueType.int.coerce(b.value) else {
            let unit = what == "depth" ? "blocks" : "channels"
            // Int(exactly:) rather than Int(_:), which traps on 1e19 or 1e308.
            let help: String? = b.value.asDouble.map { d in
                guard let n = Int(exactly: d.rounded(.down)), n <= Compiler.maxValue else {
                    return "'\(what)' counts whole \(unit): use an integer from 1 to \(Compiler.maxValue)"
                }
                return "'\(what)' counts whole \(unit): use an integer such as \(max(1, n))"
            }
            report(.error("'\(what)' must be an integer, got \(b.value.phrase)", at: b.origin, help: help), ctx)
            return nil
        }
        guard i > 0 else {
            report(.error("'\(what)' must be positive, got \(i)", at: b.origin), ctx)
            return nil
        }
        guard i <= Compiler.maxValue else {
            report(.error("'\(what)' is \(i); netc takes values up to \(Compiler.maxValue)", at: b.origin), ctx)
            return nil
        }
        return i
    }
}
