import NetcIR
import NetcSpec

/// Checks that labels and a network's class scores agree before the loss reads them. The loss
/// indexes each sample's logits with its label, and NetcKernels checks nothing in a release
/// build: a label past the last class reads another sample's logits, and training goes on with
/// a meaningless (even negative) loss. So labels are checked here, where they enter.
public enum ClassLabels {
    /// Every label an IDX file can hold: datasets load with this many classes and are then
    /// checked against the network's own count.
    public static let anyByte = Int(UInt8.max) + 1

    /// How many classes `graph` scores; throws unless its output is a vector with one score per
    /// class (in `netc check`'s words, `ClassifierHead.problem`).
    @discardableResult
    public static func requireClassifier(_ graph: Graph) throws -> Int {
        if let problem = ClassifierHead.problem(output: graph.outputShape, classes: nil) {
            throw TrainingError(problem.message, help: problem.help)
        }
        return graph.outputShape.dims[0]
    }

    /// Throws unless every label of `dataset` is one of `graph`'s classes; `source` names the data.
    public static func check(_ dataset: ImageSet, fits graph: Graph, source: String) throws {
        let classes = try requireClassifier(graph)
        guard let largest = dataset.labels.max().map(Int.init), largest >= classes else { return }
        throw TrainingError("\(graph.name) scores \(classes) classes, but \(source) has labels up to \(largest)",
                            help: "set 'classes: \(largest + 1)' in the spec, so that the head's last layer outputs \(largest + 1) scores")
    }

    /// A warning when `graph` scores more classes than `dataset`'s labels name: legitimate (a
    /// head shared with a larger label set) but usually a spec written for another dataset.
    public static func unusedClasses(_ dataset: ImageSet, graph: Graph, source: String) -> String? {
        guard let classes = try? requireClassifier(graph), let largest = dataset.labels.max().map(Int.init), largest + 1 < classes else { return nil }
        return "\(graph.name) scores \(classes) classes, but the labels of \(source) go up to \(largest): "
            + "classes \(largest + 1)...\(classes - 1) are never the answer (is 'classes' meant for another dataset?)"
    }

    /// Class indices from float32 values (how `.npy` label files store them): each must be a
    /// whole number in `0..<classes`. All bad values are reported at once (the first ten shown).
    public static func indices(_ values: [Float], classes: Int, source: String) throws -> [Int32] {
        let bad = values.indices.filter { i in
            let v = values[i]
            return !(v.isFinite && v == v.rounded() && v >= 0 && v < Float(classes))
        }
        guard bad.isEmpty else {
            let shown = bad.prefix(10).map { "\(values[$0]) at index \($0)" }.joined(separator: ", ")
            let more = bad.count > 10 ? " and \(bad.count - 10) more" : ""
            throw TrainingError("\(source): labels must be class indices, whole numbers from 0 to \(classes - 1); found \(shown)\(more)",
                                help: "store each label as its class number (np.save(path, labels.astype(np.float32)))")
        }
        return values.map { Int32($0) }
    }
}
