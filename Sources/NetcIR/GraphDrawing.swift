/// A network as a Graphviz DOT drawing (what `netc graph` renders): modules (stem, stages, blocks,
/// shortcuts, head) as nested clusters, each edge labelled with the shape of the tensor it carries,
/// and the shortcut paths dashed: the inputs a join takes from outside its own block (a residual
/// block's identity or projection, an inverted residual's identity).
/// With `depth`, each module at that depth is one box (its layers hidden), as `netc summary
/// --depth` shows it as one row: 1 draws stem, stages and head; 2 blocks.
extension Graph {
    public func dot(depth: Int? = nil) -> String {
        let drawing = Drawing(self, depth: depth ?? Int.max)
        var out = """
            digraph "\(escaped(name))" {
              rankdir=TB;
              node [shape=box, style="rounded,filled", fillcolor="#ffffff", fontname="Helvetica", fontsize=10];
              edge [fontname="Helvetica", fontsize=9, color="#555555"];

            """
        func emit(_ module: Module.ID?, indent: String) {
            for unit in drawing.units where drawing.parent(of: unit) == module {
                out += "\(indent)\(unit.id) [label=\"\(escaped(drawing.label(unit)))\"\(drawing.fill(unit))];\n"
            }
            for child in modules where child.parent == module && child.depth < drawing.depth {
                out += "\(indent)subgraph cluster_\(child.id) {\n"
                let title = child.kind == child.name ? child.name : "\(child.name) (\(child.kind))"
                out += "\(indent)  label=\"\(escaped(title))\"; labeljust=l; style=\"rounded\"; color=\"\(child.kind == "shortcut" ? "#cc6600" : "#999999")\"; fontname=\"Helvetica\"; fontsize=10;\n"
                emit(child.id, indent: indent + "  ")
                out += "\(indent)}\n"
            }
        }
        emit(nil, indent: "  ")
        out += "  output [label=\"output\\n\(outputShape)\", shape=plaintext, style=\"\"];\n"
        for edge in drawing.edges {
            let style = edge.skips ? ", style=dashed, color=\"#cc6600\"" : ""
            out += "  \(edge.from) -> \(edge.to) [label=\"\(edge.shape)\"\(style)];\n"
        }
        out += "  \(drawing.unit(of: output).id) -> output [label=\"\(outputShape)\"];\n}\n"
        return out
    }
}

/// What a drawing shows: each node, or the module at `depth` that swallows it, as one box.
private struct Drawing {
    enum Unit: Hashable {
        case node(Node.ID)
        case collapsed(Module.ID)
        var id: String {
            switch self {
            case .node(let n): "n\(n)"
            case .collapsed(let m): "m\(m)"
            }
        }
    }

    struct Edge: Hashable {
        var from: String, to: String, shape: String
        /// Into a join from outside the join's module: a shortcut.
        var skips: Bool
    }

    let graph: Graph
    let depth: Int
    /// Boxes in the order their first node appears.
    var units: [Unit] = []
    var edges: [Edge] = []
    private var unitOf: [Unit] = []

    init(_ graph: Graph, depth: Int) {
        self.graph = graph
        self.depth = depth
        var seen = Set<Unit>()
        for node in graph.nodes {
            var unit = Unit.node(node.id)
            var m = node.module
            while let id = m {
                if graph.modules[id].depth == depth { unit = .collapsed(id) }
                m = graph.modules[id].parent
            }
            unitOf.append(unit)
            if seen.insert(unit).inserted { units.append(unit) }
        }
        var drawn = Set<Edge>()
        for node in graph.nodes {
            // A join's inputs from outside its own module (the block input, a shortcut's
            // projection) skip ahead; drawn so where the join itself is drawn.
            for x in node.inputs where unitOf[x] != unitOf[node.id] {
                let edge = Edge(from: unitOf[x].id, to: unitOf[node.id].id, shape: "\(graph.nodes[x].shape)",
                                skips: type(of: node.op).isJoin && graph.nodes[x].module != node.module && unitOf[node.id] == .node(node.id))
                if drawn.insert(edge).inserted { edges.append(edge) }
            }
        }
    }

    func unit(of node: Node.ID) -> Unit { unitOf[node] }

    /// The cluster a box is drawn in: its innermost module above `depth`.
    func parent(of unit: Unit) -> Module.ID? {
        switch unit {
        case .node(let n): graph.nodes[n].module.flatMap { visible($0) }
        case .collapsed(let m): graph.modules[m].parent.flatMap { visible($0) }
        }
    }

    private func visible(_ module: Module.ID) -> Module.ID? {
        var m: Module.ID? = module
        while let id = m, graph.modules[id].depth >= depth { m = graph.modules[id].parent }
        return m
    }

    func label(_ unit: Unit) -> String {
        switch unit {
        case .node(let n):
            let node = graph.nodes[n]
            if node.op is Input { return "input\n\(node.shape)" }
            let local = node.name.split(separator: ".").last.map(String.init) ?? node.name
            let params = node.parameters.filter { $0.role == .trainable }.reduce(0) { $0 + $1.shape.reduce(1, *) }
            return "\(local)\n\(node.op.summaryKind)" + (params > 0 ? "\n\(Summary.grouped(params)) params" : "")
        case .collapsed(let m):
            let module = graph.modules[m]
            let params = graph.cost(of: m).parameters
            return "\(module.name)\n\(module.kind)" + (params > 0 ? "\n\(Summary.grouped(params)) params" : "")
        }
    }

    /// Convolutions and linear layers stand out; joins are small.
    func fill(_ unit: Unit) -> String {
        guard case .node(let n) = unit else { return ", fillcolor=\"#e8e8e8\"" }
        switch graph.nodes[n].op.drawingStyle {
        case .weighted: return ", fillcolor=\"#d6e6f5\""
        case .normalization: return ", fillcolor=\"#f5f0d6\""
        case .join: return ", shape=ellipse, fillcolor=\"#f5e0cc\""
        case .input: return ", shape=plaintext, style=\"\""
        case .plain: return ""
        }
    }
}

/// A DOT string literal's content.
private func escaped(_ text: String) -> String {
    text.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"").replacingOccurrences(of: "\n", with: "\\n")
}
