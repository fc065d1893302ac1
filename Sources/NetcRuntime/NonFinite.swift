import NetcIR

/// Where a NaN or infinity first appeared in a forward pass.
public struct NonFiniteReport: Hashable, Sendable, CustomStringConvertible {
    public var node: Node.ID
    public var nodeName: String
    /// The parameter that was already non-finite (e.g. `stages.1.0.conv1.weight`), or nil when
    /// the node's output went non-finite from finite inputs and parameters.
    public var parameter: String?
    /// Index (CNHW) of the first offending element, and its value.
    public var index: Int
    public var value: Float

    public var description: String {
        if let parameter { return "parameter \(parameter) holds \(value) (element \(index))" }
        return "the output of \(nodeName) went non-finite (\(value) at element \(index))"
    }
}

extension Interpreter {
    /// Checks node `node`'s parameters, then its output `y`, after it ran.
    func check(_ node: Node, value y: UnsafeMutableBufferPointer<Float>) -> NonFiniteReport? {
        for (k, p) in parameters[node.id].enumerated() {
            if let j = p.firstIndex(where: { !$0.isFinite }) {
                return NonFiniteReport(node: node.id, nodeName: node.name,
                                       parameter: "\(node.name).\(node.parameters[k].name)", index: j, value: p[j])
            }
        }
        if let j = y.firstIndex(where: { !$0.isFinite }) {
            return NonFiniteReport(node: node.id, nodeName: node.name, parameter: nil, index: j, value: y[j])
        }
        return nil
    }

    /// Re-runs the forward pass on `input` with checking on, and returns the first node whose
    /// output (or parameter) is NaN or infinite, for a clear message when training diverges.
    /// With `training: true` batch norm uses batch statistics (and updates running statistics
    /// once more); pass false to leave them untouched.
    public func locateNonFinite(input: UnsafeBufferPointer<Float>, batchSize n: Int, training: Bool) -> NonFiniteReport? {
        forward(input, batchSize: n, training: training, checkFinite: true)
        return firstNonFinite
    }
}
