import NetcIR
import NetcSpec

/// `netc eval`, `run` and `step` take a spec and a checkpoint that carries the spec it was trained
/// with. Two specs can have the same parameter names and shapes and still compute different
/// things (a stride, a pooling kind, a missing ReLU), and the weights would load without a word:
/// so both are compiled at the same input size and their networks compared layer by layer.
enum CheckpointSpecAgreement {
    /// Nil if `graph` (compiled from `given`) is the network the checkpoint's own spec describes,
    /// else throws, naming the first layer that differs. Returns a warning when the texts differ
    /// but the networks do not (comments, the recipe, the network's name, unused blocks).
    static func check(_ graph: Graph, given: Compilation, checkpoint: Checkpoint.Contents, weights: String) throws -> String? {
        // Weights another tool wrote say nothing of their network: their names and shapes must do.
        guard let spec = checkpoint.spec, given.source != spec else { return nil }
        let saved = Compiler.compile(source: spec, file: "\(weights) (its spec)", input: graph.inputShape)
        guard let savedGraph = saved.graph, saved.succeeded else {
            let declared = Compiler.compile(source: spec, file: saved.file)
            if let g = declared.graph, declared.succeeded {
                throw TrainingError("\(given.file) and the spec saved in \(weights) describe different networks: the checkpoint's takes \(g.inputShape) images and cannot run on \(graph.inputShape)",
                                    help: "give the spec the weights were trained with (the checkpoint's own is in its metadata, 'spec')")
            }
            return "the spec saved in \(weights) no longer compiles, so \(given.file) cannot be compared with it; using \(given.file)"
        }
        if let difference = firstDifference(graph, savedGraph, in: (given.file, "the checkpoint's")) {
            throw TrainingError("\(given.file) and the spec saved in \(weights) describe different networks: \(difference)",
                                help: "give the spec the weights were trained with (the checkpoint's own is in its metadata, 'spec')")
        }
        return "\(given.file) differs from the spec saved in \(weights) only in what does not change the network; using \(given.file)"
    }

    /// The first layer where two graphs differ, in words naming where each comes from; nil if
    /// they compute the same function.
    static func firstDifference(_ a: Graph, _ b: Graph, in names: (String, String)) -> String? {
        let (p, q) = names
        for (x, y) in zip(a.nodes, b.nodes) {
            let inputsA = x.inputs.map { a.nodes[$0].name }, inputsB = y.inputs.map { b.nodes[$0].name }
            if x.name != y.name { return "layer \(x.id) is '\(x.name)' in \(p), '\(y.name)' in \(q)" }
            if x.op.kindName != y.op.kindName { return "'\(x.name)' is \(x.op.kindName) in \(p), \(y.op.kindName) in \(q)" }
            if !x.op.isEqual(to: y.op) { return "'\(x.name)' (\(x.op.kindName)) is \(settings(x.op)) in \(p), \(settings(y.op)) in \(q)" }
            if inputsA != inputsB { return "'\(x.name)' reads \(inputsA) in \(p), \(inputsB) in \(q)" }
            if x.shape != y.shape { return "'\(x.name)' outputs \(x.shape) in \(p), \(y.shape) in \(q)" }
            if x.parameters != y.parameters { return "'\(x.name)' has other parameters in \(p) than in \(q)" }
        }
        if a.nodes.count != b.nodes.count { return "\(p) has \(a.nodes.count) layers, \(q) \(b.nodes.count)" }
        return nil
    }

    /// An op's attributes as Swift prints them, without the module's prefixes:
    /// `Linear(outFeatures: 5, bias: true)`.
    static func settings(_ op: any Operator) -> String {
        "\(op)".replacingOccurrences(of: "NetcIR.", with: "")
    }
}
