import Foundation

/// A torchinfo-style summary of a graph: a tree of modules and layers with output shapes,
/// parameters and mult-adds, then totals under each tool's counting convention.
public struct Summary: Codable, Sendable {
    public struct Row: Codable, Sendable {
        /// Hierarchical name (`stages.1.0.conv1`).
        public var name: String
        /// `Conv2d 3x3/2`, `stage`, the block template's name, ...
        public var kind: String
        public var depth: Int
        /// Output shape with the batch first, as PyTorch prints it.
        public var outputShape: [Int]
        public var parameters: Int
        /// torchinfo's mult-adds for this row, batch included.
        public var multAdds: Int
        /// A convolution's or pooling layer's window, height then width (nil for other rows).
        public var kernel: [Int]? = nil
        public var stride: [Int]? = nil
        public var padding: [Int]? = nil
        /// A convolution's groups.
        public var groups: Int? = nil
    }

    /// The JSON form's version: it grows by one when a field changes meaning or goes away.
    public var schemaVersion = 1

    public struct Totals: Codable, Sendable {
        public var batch: Int
        public var inputShape: [Int]
        public var outputShape: [Int]
        public var parameters: Int
        public var trainableParameters: Int
        public var nonTrainableParameters: Int
        /// Batch-norm running statistics: saved with the model, not counted as parameters.
        public var buffers: Int
        public var torchinfoMultAdds: Int
        public var inputBytes: Int
        public var forwardBackwardBytes: Int
        public var parameterBytes: Int
        public var estimatedTotalBytes: Int
        /// Conv and linear MACs, bias excluded: torchvision's GFLOPS column.
        public var macs: Int
        /// pycls's `flops`: `macs` plus conv and linear biases, once per output channel.
        public var pyclsFlops: Int
        /// Conv and linear output elements.
        public var activations: Int
        /// pycls's `acts`: `activations` plus pooling outputs.
        public var pyclsActivations: Int
    }

    public var name: String
    public var rows: [Row]
    public var totals: Totals

    /// Summarises `graph` for a batch of `batch` samples, listing modules and layers down to `depth`
    /// (1: stem, stages and head, as d2l's layer-by-layer shape printout).
    public init(_ graph: Graph, batch: Int = 1, depth: Int = 3) {
        name = graph.name
        rows = []
        var shown = Set<Module.ID>()
        for node in graph.nodes where !(node.op is Input) {
            // Open every enclosing module not yet shown, outermost first.
            var chain: [Module.ID] = []
            var m = node.module
            while let id = m { chain.insert(id, at: 0); m = graph.modules[id].parent }
            for id in chain where !shown.contains(id) {
                shown.insert(id)
                let module = graph.modules[id]
                guard module.depth <= depth else { continue }
                let inside = graph.nodes.filter { graph.isNode($0, inside: id) }
                guard let last = inside.last else { continue }
                let cost = inside.reduce(Cost()) { $0 + $1.cost }
                rows.append(Row(name: module.name, kind: module.kind, depth: module.depth,
                                outputShape: [batch] + last.shape.dims, parameters: cost.parameters,
                                multAdds: cost.torchinfoMACs * batch))
            }
            let layerDepth = (node.module.map { graph.modules[$0].depth } ?? 0) + 1
            guard layerDepth <= depth, !type(of: node.op).isJoin else { continue }
            let cost = node.cost
            var row = Row(name: node.name, kind: node.op.summaryKind, depth: layerDepth,
                          outputShape: [batch] + node.shape.dims, parameters: cost.parameters,
                          multAdds: cost.torchinfoMACs * batch)
            if let (w, groups) = node.op.window {
                (row.kernel, row.stride, row.padding, row.groups) = (w.sizes, w.strides, w.pads, groups)
            }
            rows.append(row)
        }
        let c = graph.cost
        let inputBytes = 4 * batch * graph.inputShape.elementCount
        let passBytes = 4 * batch * c.torchinfoPassElements
        let paramBytes = 4 * c.parameters
        totals = Totals(batch: batch, inputShape: [batch] + graph.inputShape.dims,
                        outputShape: [batch] + graph.outputShape.dims,
                        parameters: c.parameters, trainableParameters: c.parameters, nonTrainableParameters: 0,
                        buffers: c.buffers, torchinfoMultAdds: c.torchinfoMACs * batch,
                        inputBytes: inputBytes, forwardBackwardBytes: passBytes, parameterBytes: paramBytes,
                        estimatedTotalBytes: inputBytes + passBytes + paramBytes,
                        macs: c.macs * batch, pyclsFlops: c.pyclsFlops * batch,
                        activations: c.activations * batch, pyclsActivations: c.pyclsActivations * batch)
    }

    /// The table and footer as text. The footer's first block reproduces torchinfo 1.8's lines so
    /// the two can be compared line by line; the lines after it use other tools' conventions.
    public func renderText() -> String {
        let cells = rows.map { r in
            let short = r.depth == 1 ? r.name : String(r.name.split(separator: ".").last ?? "")
            return [String(repeating: "  ", count: r.depth - 1) + "\(short) (\(r.kind))",
                    "[" + r.outputShape.map(String.init).joined(separator: ", ") + "]",
                    r.parameters == 0 ? "--" : Self.grouped(r.parameters),
                    r.multAdds == 0 ? "--" : Self.grouped(r.multAdds)]
        }
        // torchinfo's widths, widened to the widest cell plus a space so columns never run together.
        let widths = [46, 20, 14, 16].enumerated().map { i, w in max(w, (cells.map { $0[i].count }.max() ?? 0) + 1) }
        let rule = String(repeating: "=", count: widths.reduce(0, +))
        func pad(_ s: String, _ n: Int) -> String { s + String(repeating: " ", count: max(0, n - s.count)) }
        func lpad(_ s: String, _ n: Int) -> String { String(repeating: " ", count: max(0, n - s.count)) + s }
        func line(_ c: [String]) -> String { pad(c[0], widths[0]) + pad(c[1], widths[1]) + lpad(c[2], widths[2]) + lpad(c[3], widths[3]) + "\n" }
        var out = "\(name)\n\(rule)\n"
        out += line(["Layer (kind)", "Output Shape", "Param #", "Mult-Adds"])
        out += rule + "\n"
        for c in cells { out += line(c) }
        let t = totals
        let (unit, scaled) = Self.scaled(t.torchinfoMultAdds)
        out += rule + "\n"
        out += "Total params: \(Self.grouped(t.parameters))\n"
        out += "Trainable params: \(Self.grouped(t.trainableParameters))\n"
        out += "Non-trainable params: \(Self.grouped(t.nonTrainableParameters))\n"
        out += "Total mult-adds (\(unit)): \(String(format: "%.2f", scaled))\n"
        out += rule + "\n"
        out += "Input size (MB): \(Self.megabytes(t.inputBytes))\n"
        out += "Forward/backward pass size (MB): \(Self.megabytes(t.forwardBackwardBytes))\n"
        out += "Params size (MB): \(Self.megabytes(t.parameterBytes))\n"
        out += "Estimated Total Size (MB): \(Self.megabytes(t.estimatedTotalBytes))\n"
        out += rule + "\n"
        out += "Conv+linear MACs (torchvision GFLOPS): \(String(format: "%.2f", Double(t.macs) / 1e9)) G\n"
        // pycls's figures differ from the MACs by the biases and pooling outputs: print them whole.
        out += "pycls flops (MACs + biases): \(Self.grouped(t.pyclsFlops))\n"
        out += "pycls acts (conv, linear and pooling outputs): \(Self.grouped(t.pyclsActivations))\n"
        out += "BN running statistics (buffers, not params): \(Self.grouped(t.buffers))\n"
        return out
    }

    /// The summary as pretty-printed JSON with stable key order.
    public func renderJSON() -> String { renderedJSON(self) }

    /// `11,178,378`.
    public static func grouped(_ n: Int) -> String {
        let digits = Array(String(abs(n)))
        var out = ""
        for (i, d) in digits.enumerated() {
            if i > 0 && (digits.count - i) % 3 == 0 { out += "," }
            out.append(d)
        }
        return (n < 0 ? "-" : "") + out
    }

    /// torchinfo's automatic unit for mult-adds.
    static func scaled(_ n: Int) -> (String, Double) {
        let d = Double(n)
        if d >= 1e12 { return ("T", d / 1e12) }
        if d >= 1e9 { return ("G", d / 1e9) }
        if d >= 1e6 { return ("M", d / 1e6) }
        return ("K", d / 1e3)
    }

    static func megabytes(_ bytes: Int) -> String { String(format: "%.2f", Double(bytes) / 1e6) }
}
