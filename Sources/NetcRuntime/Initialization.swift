import NetcIR

extension ParameterStore {
    /// (Re)initialises every parameter from `seed`. Batch norm starts as the identity
    /// (weight 1, bias 0, running mean 0, running variance 1) under every scheme.
    /// Parameters are filled in stable store order from one generator, so the same seed
    /// gives the same model on every run.
    public func initialize(_ scheme: InitScheme, seed: UInt64, graph: Graph) {
        var rng = SplitMix64(seed: seed)
        for (i, e) in entries.enumerated() {
            let v = value(at: i)
            let node = graph.nodes[e.node]
            node.op.initialize(e.index, of: node, v, scheme: scheme, random: &rng)
        }
        noteChange()
    }
}
