import NetcIR

/// Training (softmax cross-entropy over labels 0..<classes) needs a network whose output is a
/// vector of one logit per class. A spec that ends in a feature map, or in the wrong number of
/// features, would otherwise train on nonsense or index past its logits. `netc check` reports
/// this at the spec's last layer; the trainer asks again of the graph it is given (NetcTrain's
/// `ClassLabels.requireClassifier`), in the same words.
public enum ClassifierHead {
    /// What is wrong with a network whose output is `output` as a classifier of `classes`
    /// classes (any number when nil), with how to fix it; nil when nothing is.
    ///
    ///     ClassifierHead.problem(output: .map(8, 4, 4), classes: 10)?.message
    ///     // "the network's output is a feature map (8x4x4), but training needs a vector of class logits, [10]"
    public static func problem(output: Shape, classes: Int?) -> (message: String, help: String)? {
        let wanted = classes.map { "[\($0)]" } ?? "[classes]"
        if output.dims.count != 1 {
            return ("the network's output is a feature map (\(output)), but training needs a vector of class logits, \(wanted)",
                    "end the head with 'global_avgpool, flatten, {linear: {out: $classes}}'")
        }
        if let classes, output.dims[0] != classes {
            return ("the network's output has \(output.dims[0]) features, but training needs one logit per class: \(wanted)",
                    "make the last linear layer 'linear: {out: $classes}'")
        }
        return nil
    }
}

extension Spec {
    /// The layer whose output is the network's output, as the user wrote it.
    var lastLayerLocation: SourceLocation? {
        head.last?.location ?? stages.last?.location ?? stem.last?.location ?? input.location
    }

    /// What `netc check` says of a network that cannot be trained as a classifier: an error when
    /// the spec has a `train:` recipe, a warning when it only declares `classes:`.
    func classifierHeadDiagnostic(output: Shape) -> Diagnostic? {
        guard train != nil || classes != nil else { return nil }
        return classifierHeadProblem(output: output, classes: classes, severity: train != nil ? .error : .warning)
    }

    func classifierHeadProblem(output: Shape, classes: Int?, severity: Diagnostic.Severity) -> Diagnostic? {
        guard let problem = ClassifierHead.problem(output: output, classes: classes) else { return nil }
        // A spec that never declared its classes is told where the count goes.
        let help = problem.help + (output.dims.count != 1 && classes == nil ? " and declare 'classes:'" : "")
        let notes: [Diagnostic.Note] = classes != nil && classesLocation != nil ? [.init("'classes' is set here", at: classesLocation)] : []
        return Diagnostic(severity, problem.message, at: lastLayerLocation, help: help, notes: notes)
    }
}
