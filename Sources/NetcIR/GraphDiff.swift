/// What changes from one network to another (`netc diff`), as a designer asks it when moving from
/// ResNet-34 to ResNet-50 or from a ResNet stage to a ResNeXt one: per top-level module (stem,
/// each stage, head) and in total, the parameters, mult-adds and activations of each, the change,
/// and the first block whose output shape differs. Figures count one sample, as `netc summary`
/// does: torchinfo's params and mult-adds, pycls's acts.
public struct GraphDiff: Codable, Sendable {
    public struct Figures: Codable, Equatable, Sendable {
        public var parameters: Int
        public var multAdds: Int
        public var activations: Int
    }

    public struct Row: Codable, Sendable {
        public var module: String
        /// Nil where the network has no such module (a stage only one of them has).
        public var a: Figures?
        public var b: Figures?
        /// b minus a, a missing side counting as zeros.
        public var delta: Figures
    }

    /// The first module (stem, stage or block, in the first network's order) whose output shape
    /// differs, with each side's shape (nil where that network lacks the module).
    public struct ShapeDifference: Codable, Equatable, Sendable {
        public var module: String
        public var a: [Int]?
        public var b: [Int]?
    }

    public var a: String
    public var b: String
    public var rows: [Row]
    public var total: Row
    public var firstShapeDifference: ShapeDifference?

    public init(_ a: Graph, _ b: Graph) {
        (self.a, self.b) = (a.name, b.name)
        func figures(_ g: Graph, _ module: String) -> Figures? {
            g.modules.first { $0.name == module && $0.depth == 1 }.map { Figures(g.cost(of: $0.id)) }
        }
        func row(_ name: String, _ fa: Figures?, _ fb: Figures?) -> Row {
            let zero = Figures(Cost())
            let (x, y) = (fa ?? zero, fb ?? zero)
            return Row(module: name, a: fa, b: fb,
                       delta: Figures(parameters: y.parameters - x.parameters, multAdds: y.multAdds - x.multAdds,
                                      activations: y.activations - x.activations))
        }
        var names: [String] = []
        for m in a.modules + b.modules where m.depth == 1 && !names.contains(m.name) { names.append(m.name) }
        // Stages in order even where one network has more of them: stem, stages.0, ..., head.
        let order = { (n: String) in n == "stem" || n == "layers" ? -1 : n == "head" ? Int.max : Int(n.split(separator: ".").last ?? "") ?? 0 }
        rows = names.sorted { order($0) < order($1) }.map { row($0, figures(a, $0), figures(b, $0)) }
        total = row("total", Figures(a.cost), Figures(b.cost))
        firstShapeDifference = Self.firstShapeDifference(a, b)
    }

    static func firstShapeDifference(_ a: Graph, _ b: Graph) -> ShapeDifference? {
        // In the order their outputs are computed, a block before the stage it ends.
        func outputs(_ g: Graph) -> [(String, [Int])] {
            g.modules.filter { $0.depth <= 2 }
                .compactMap { m in g.nodes.last { g.isNode($0, inside: m.id) }.map { (m, $0) } }
                .sorted { ($0.1.id, -$0.0.depth) < ($1.1.id, -$1.0.depth) }
                .map { ($0.0.name, $0.1.shape.dims) }
        }
        let (oa, ob) = (outputs(a), outputs(b))
        let shapesB = Dictionary(ob, uniquingKeysWith: { first, _ in first })
        let shapesA = Dictionary(oa, uniquingKeysWith: { first, _ in first })
        for (name, shape) in oa where shapesB[name] != shape { return ShapeDifference(module: name, a: shape, b: shapesB[name]) }
        for (name, shape) in ob where shapesA[name] == nil { return ShapeDifference(module: name, a: nil, b: shape) }
        return nil
    }

    /// One line per module and the total, then the first shape that differs.
    public func renderText() -> String {
        let header = ["module", "params \(a)", "params \(b)", "Δ params", "mult-adds \(a)", "mult-adds \(b)", "Δ mult-adds",
                      "acts \(a)", "acts \(b)", "Δ acts"]
        func cells(_ r: Row) -> [String] {
            func n(_ v: Int?) -> String { v.map(Summary.grouped) ?? "-" }
            func d(_ v: Int) -> String { (v > 0 ? "+" : "") + Summary.grouped(v) }
            return [r.module, n(r.a?.parameters), n(r.b?.parameters), d(r.delta.parameters),
                    n(r.a?.multAdds), n(r.b?.multAdds), d(r.delta.multAdds),
                    n(r.a?.activations), n(r.b?.activations), d(r.delta.activations)]
        }
        let table = [header] + rows.map(cells) + [cells(total)]
        let widths = header.indices.map { c in table.map { $0[c].count }.max()! }
        func line(_ cells: [String]) -> String {
            cells.enumerated().map { c, text in
                let pad = String(repeating: " ", count: widths[c] - text.count)
                return c == 0 ? text + pad : pad + text
            }.joined(separator: "  ")
        }
        var out = table.dropLast().map(line).joined(separator: "\n") + "\n"
        out += String(repeating: "-", count: widths.reduce(0, +) + 2 * (widths.count - 1)) + "\n" + line(table.last!) + "\n"
        if let f = firstShapeDifference {
            func shape(_ s: [Int]?, _ name: String) -> String { s.map { "\($0.map(String.init).joined(separator: "x")) in \(name)" } ?? "nothing in \(name)" }
            out += "first shape that differs: \(f.module) gives \(shape(f.a, a)), \(shape(f.b, b))\n"
        } else {
            out += "every stem, stage and block gives the same shape in both\n"
        }
        return out
    }

    public func renderJSON() -> String { renderedJSON(self) }
}

extension GraphDiff.Figures {
    init(_ cost: Cost) { self.init(parameters: cost.parameters, multAdds: cost.torchinfoMACs, activations: cost.pyclsActivations) }
}
