import NetcIR

extension Program {
    /// What each node became, one step a line: the kernel that runs, its algorithm, what was
    /// fused into it, and where its output lives in `plan` (an arena slot, shared with other
    /// tensors whose lifetimes do not overlap). The `--explain` view of `netc compile`.
    ///
    ///     step  runs                 algorithm    fused into it                          output
    ///        4  stages.0.0.conv2     im2col gemm  bn2 (folded), add (+ input), relu2     slot 1, in place of its residual
    public func explain(plan: InferencePlan? = nil, batch: Int? = nil) -> String {
        let nodes = graph.nodes
        /// A node's name inside the step's module (`bn2` for `stages.0.0.bn2` next to `stages.0.0.conv2`).
        func short(_ id: Node.ID, near anchor: Node.ID) -> String {
            let name = nodes[id].name, prefix = nodes[anchor].name.split(separator: ".").dropLast().joined(separator: ".")
            return !prefix.isEmpty && name.hasPrefix(prefix + ".") ? String(name.dropFirst(prefix.count + 1)) : name
        }
        var rows: [[String]] = [["step", "runs", "op", "algorithm", "fused into it", "output"]]
        for (k, step) in steps.enumerated() {
            var fused: [String] = []
            if let bn = step.foldedBatchNorm { fused.append("\(short(bn, near: step.node)) (folded into weights)") }
            if let add = step.residualAdd, let r = step.residual {
                fused.append("\(short(add, near: step.node)) (+ \(short(r, near: step.node)))")
            }
            if let relu = step.relu { fused.append(short(relu, near: step.node)) }
            var output = "-"
            if let plan, let slot = plan.slot(of: step.output) {
                output = "slot \(slot)" + (plan.accumulatesInPlace(k) ? ", onto its residual" : "")
            }
            rows.append(["\(k)", nodes[step.node].name, nodes[step.node].op.kindName, step.algorithmName ?? "-",
                         fused.isEmpty ? "-" : fused.joined(separator: ", "), output])
        }
        let widths = rows[0].indices.map { c in rows.map { $0[c].count }.max()! }
        var text = "\(graph.name): \(steps.count) steps for \(nodes.count) nodes"
        text += passes.isEmpty ? " (the graph as written)\n" : "; passes: \(passes.joined(separator: ", "))\n"
        for row in rows {
            let cells = row.indices.map { c in c == 0 ? String(repeating: " ", count: widths[c] - row[c].count) + row[c]
                                                        : row[c] + String(repeating: " ", count: widths[c] - row[c].count) }
            text += cells.joined(separator: "  ").trimmingTrailingSpaces() + "\n"
        }
        if let plan {
            let bytes = Double(plan.plannedBytes)
            let size = bytes < 1_048_576 ? String(format: "%.1f KiB", bytes / 1024) : String(format: "%.1f MiB", bytes / 1_048_576)
            text += "memory at batch \(plan.capacity): \(size) in \(plan.layout.slotPerSample.count) slots and a conv workspace\n"
        }
        return text
    }
}

private extension String {
    func trimmingTrailingSpaces() -> String {
        var s = Substring(self)
        while s.last == " " { s = s.dropLast() }
        return String(s)
    }
}
