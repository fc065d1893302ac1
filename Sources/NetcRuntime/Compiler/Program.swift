import NetcIR
import NetcKernels

/// The compiled form of a graph: the kernels that run, in order, each covering one or more
/// of the graph's nodes. Made from the graph by named passes (`Passes.swift`), each a
/// function from program to program that can be run alone, tested by running the program with
/// and without it, and shown to a user (`explain`).
///
/// A program without passes runs every node as its own step, exactly as the graph reads.
public struct Program: Sendable {
    public var graph: Graph
    public var steps: [Step]
    /// The passes that made this program, in order.
    public var passes: [String]
    /// The batch its algorithms were chosen for.
    public let batch: Int

    /// One step per node, in graph order: the graph as written, each convolution computed by
    /// the algorithms `ConvAlgorithm.choose` picks for batches of `batch` (for inference unless
    /// `training`).
    public init(graph: Graph, batch: Int = 1, training: Bool = false) {
        self.graph = graph
        self.batch = batch
        steps = graph.nodes.map { node in
            var step = Step(node: node.id)
            if let c = node.op as? Conv {
                (step.algorithm, step.backwardAlgorithm) =
                    ConvAlgorithm.choose(c.geometry(input: graph.nodes[node.inputs[0]].shape, n: batch), training: training)
            }
            return step
        }
        passes = []
    }

    /// Runs `pass` and records its name.
    public func applying(_ pass: ProgramPass) -> Program {
        var p = pass.run(self)
        p.passes.append(pass.name)
        return p
    }

    /// The step that computes node `id`'s value, by step index (nil for a node no step produces).
    public var stepProducing: [Int?] {
        var producer = [Int?](repeating: nil, count: graph.nodes.count)
        for (k, step) in steps.enumerated() { for id in step.nodes { producer[id] = k } }
        return producer
    }

    /// The tensors step `k` reads: its kernel's inputs and its residual.
    func reads(_ step: Step) -> [Node.ID] {
        graph.nodes[step.node].inputs + (step.residual.map { [$0] } ?? [])
    }
}

/// What one step runs: the kernel of `node`, with what the passes fused into it.
public struct Step: Hashable, Sendable {
    /// The node whose kernel runs; the step reads this node's inputs.
    public var node: Node.ID
    /// A batch norm folded into this conv's weights and bias (inference).
    public var foldedBatchNorm: Node.ID?
    /// An add whose other operand the kernel adds to its output (the residual join).
    public var residualAdd: Node.ID?
    /// The other operand of `residualAdd`: the tensor added.
    public var residual: Node.ID?
    /// A ReLU applied to the output in the same pass.
    public var relu: Node.ID?
    /// How a convolution is computed (nil for other ops).
    public var algorithm: ConvAlgorithm?
    /// How a convolution's gradients are computed (training; nil for other ops).
    public var backwardAlgorithm: ConvAlgorithm?

    public init(node: Node.ID) { self.node = node }

    /// Every node this step computes, in order; the last one is the value the step writes.
    public var nodes: [Node.ID] { [node] + [foldedBatchNorm, residualAdd, relu].compactMap { $0 } }
    /// The node whose value the step's output is.
    public var output: Node.ID { nodes.last! }
    /// Its algorithms as `--explain` and `--profile` print them: one name, or the forward's and
    /// the backward's where they differ (`im2col gemm, backward winograd F(4x4,3x3)`).
    public var algorithmName: String? {
        guard let algorithm else { return nil }
        guard let backwardAlgorithm, backwardAlgorithm != algorithm else { return algorithm.rawValue }
        return "\(algorithm.rawValue), backward \(backwardAlgorithm.rawValue)"
    }
}

/// A named transformation of a program.
public struct ProgramPass: Sendable {
    public var name: String
    public var run: @Sendable (Program) -> Program
    public init(_ name: String, _ run: @escaping @Sendable (Program) -> Program) { self.name = name; self.run = run }
}
