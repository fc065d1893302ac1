import NetcIR

// The passes netc compiles with. Each rewrites a program into an equivalent one (the same
// outputs up to float rounding; tests run every graph with and without each) and leaves the
// graph itself untouched: what a node became is recorded on the step that now computes it.

extension ProgramPass {
    /// Inference: `conv -> batchnorm` becomes one conv whose weights and bias absorb the
    /// normalisation with the running statistics (`w' = w * s`, `b' = (b - mean) * s + beta`,
    /// `s = gamma / sqrt(var + eps)`), so batch norm costs nothing at run time.
    public static let foldBatchNorm = ProgramPass("fold-batchnorm") { program in
        program.fusing { step, consumer, _ in
            guard program.graph.nodes[step.node].op is Conv, step.output == step.node,
                  consumer.op is BatchNorm else { return nil }
            var fused = step
            fused.foldedBatchNorm = consumer.id
            return fused
        }
    }

    /// A residual join right after a conv becomes the conv's epilogue: its GEMMs accumulate onto
    /// the other operand instead of writing a tensor that an add then reads back. The add goes to
    /// whichever operand is computed last, so the other is ready when the conv runs.
    public static let fuseResidualAdd = ProgramPass("fuse-residual-add") { program in
        program.fusing { step, consumer, producer in
            guard program.graph.nodes[step.node].op is Conv, step.residualAdd == nil, step.relu == nil,
                  consumer.op is Add, consumer.inputs[0] != consumer.inputs[1] else { return nil }
            let other = consumer.inputs[0] == step.output ? consumer.inputs[1] : consumer.inputs[0]
            guard let otherStep = producer(other), otherStep < producer(step.output)! else { return nil }
            var fused = step
            fused.residualAdd = consumer.id
            fused.residual = other
            return fused
        }
    }

    /// A ReLU after an op whose kernel can apply it (`Operator.appliesReLU`: a conv, a batch norm,
    /// an add) is applied in that kernel's last pass over its output instead of a pass of its own.
    public static let fuseReLU = ProgramPass("fuse-relu") { program in
        program.fusing { step, consumer, _ in
            guard step.relu == nil, consumer.op is ReLU, program.graph.nodes[step.node].op.appliesReLU else { return nil }
            var fused = step
            fused.relu = consumer.id
            return fused
        }
    }

    /// The passes of an inference program, in order.
    public static let inference: [ProgramPass] = [.foldBatchNorm, .fuseResidualAdd, .fuseReLU]

    /// Training: a ReLU right after a batch norm is applied by the batch norm's kernels, forward
    /// (they write `max(y, 0)`) and backward (the ReLU's mask is folded into both passes over dy),
    /// so neither the ReLU's own passes nor the batch norm's output gradient exist.
    public static let fuseBatchNormReLU = ProgramPass("fuse-batchnorm-relu") { program in
        program.fusing { step, consumer, _ in
            guard program.graph.nodes[step.node].op is BatchNorm, step.relu == nil, consumer.op is ReLU else { return nil }
            var fused = step
            fused.relu = consumer.id
            return fused
        }
    }

    /// The passes of a training program, in order.
    public static let training: [ProgramPass] = [.fuseBatchNormReLU]
}

extension Program {
    /// The program for inference in batches of `batch`: the graph with every inference pass applied.
    public static func inference(_ graph: Graph, batch: Int = 1) -> Program {
        ProgramPass.inference.reduce(Program(graph: graph, batch: batch)) { $0.applying($1) }
    }

    /// The program for training in batches of `batch`: the graph with every training pass applied.
    public static func training(_ graph: Graph, batch: Int = 1) -> Program {
        ProgramPass.training.reduce(Program(graph: graph, batch: batch, training: true)) { $0.applying($1) }
    }

    /// Merges a step with the step of its output's only consumer wherever `merge` says how.
    ///
    /// `merge(step, consumer, producer)` sees a step, the one node that reads its output (which
    /// is not the graph's output, and runs as a step of its own), and a lookup from a node to
    /// the index of the step computing it; it returns the merged step or nil to leave both.
    func fusing(_ merge: (Step, Node, (Node.ID) -> Int?) -> Step?) -> Program {
        var consumers = [[Node.ID]](repeating: [], count: graph.nodes.count)
        for node in graph.nodes { for x in Set(node.inputs) { consumers[x].append(node.id) } }
        var steps = self.steps
        var producer = stepProducing
        var removed = Set<Int>()
        for k in steps.indices where !removed.contains(k) {
            // Fuse repeatedly: conv, then its batch norm, its add, its ReLU.
            while true {
                let out = steps[k].output
                guard out != graph.output, consumers[out].count == 1 else { break }
                let consumer = graph.nodes[consumers[out][0]]
                guard let j = producer[consumer.id], j != k, steps[j].nodes == [consumer.id],
                      let merged = merge(steps[k], consumer, { producer[$0] ?? nil }) else { break }
                steps[k] = merged
                removed.insert(j)
                producer[consumer.id] = k
            }
        }
        var program = self
        program.steps = steps.indices.filter { !removed.contains($0) }.map { steps[$0] }
        return program
    }
}
