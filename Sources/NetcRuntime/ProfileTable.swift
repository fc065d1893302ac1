import Foundation

/// The `--profile` table: every step with its algorithm and fused layers, milliseconds forward
/// and backward, GFLOP/s achieved and share of the whole, then the machine's sgemm rate, the
/// ceiling the convolutions' GFLOP/s are to be read against.
public func profileTable(_ times: [NodeTime], stepSeconds: Double, sgemmGFLOPS: Double) -> String {
    var rows: [[String]] = [["layer", "runs as", "fwd ms", "bwd ms", "fwd GF/s", "bwd GF/s", "share"]]
    func ms(_ s: Double) -> String { s > 0 ? String(format: "%.2f", s * 1e3) : "-" }
    func rate(_ g: Double?) -> String { g.map { String(format: "%.1f", $0) } ?? "-" }
    for t in times {
        let how = ([t.algorithm ?? t.op] + (t.fused.isEmpty ? [] : ["+ " + t.fused.map { $0.split(separator: ".").last.map(String.init) ?? $0 }.joined(separator: ", ")]))
            .joined(separator: " ")
        rows.append([t.name, how, ms(t.forward), ms(t.backward), rate(t.forwardGFLOPS), rate(t.backwardGFLOPS),
                     String(format: "%.1f%%", 100 * (t.forward + t.backward) / stepSeconds)])
    }
    let measured = times.reduce(0) { $0 + $1.forward + $1.backward }
    let widths = rows[0].indices.map { c in rows.map { $0[c].count }.max()! }
    var text = ""
    for row in rows {
        text += row.indices.map { c in
            let pad = String(repeating: " ", count: widths[c] - row[c].count)
            return c < 2 ? row[c] + pad : pad + row[c]
        }.joined(separator: "  ") + "\n"
    }
    text += String(format: "layers %.1f ms of %.1f ms (the rest outside the layers: loss, optimizer, layout changes); sgemm on this machine: %.1f GFLOP/s\n",
                   measured * 1e3, stepSeconds * 1e3, sgemmGFLOPS)
    return text
}
