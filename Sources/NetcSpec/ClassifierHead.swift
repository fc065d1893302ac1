import NetcIR

/// Training (softmax cross-entropy over labels 0..<classes) needs a network whose output is a
/// vector of one logit per class. A spec that ends in a feature map, or in the wrong number of
/// features, would otherwise train on nonsense or index past its logits.
extension Compilation {
    /// Why the compiled network cannot be trained as a classifier of `classes` classes (the spec's
    /// `classes:` when nil), or nil when its output has shape `[classes]`, or when the spec did
    /// not compile (its errors say why). The diagnostic points at the layer the network ends with.
    ///
    ///     var c = Compiler.compile(path: "resnet18.yaml")
    ///     if let problem = c.classifierHeadError(classes: 10) {
    ///         c.diagnostics.append(problem)
    ///         print(c.renderDiagnostics())
    ///     }
    public func classifierHeadError(classes: Int? = nil) -> Diagnostic? {
        guard let spec, let graph else { return nil }
        return spec.classifierHeadProblem(output: graph.outputShape, classes: classes ?? spec.classes, severity: .error)
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
        let wanted = classes.map { "[\($0)]" } ?? "[classes]"
        let headHelp = "end the head with 'global_avgpool, flatten, {linear: {out: $classes}}'"
            + (classes == nil ? " and declare 'classes:'" : "")
        let message: String
        if output.dims.count != 1 {
            message = "the network's output is a feature map (\(output)), but training needs a vector of class logits, \(wanted)"
        } else if let classes, output.dims[0] != classes {
            message = "the network's output has \(output.dims[0]) features, but training needs one logit per class: \(wanted)"
        } else {
            return nil
        }
        let notes: [Diagnostic.Note] = classes != nil && classesLocation != nil ? [.init("'classes' is set here", at: classesLocation)] : []
        return Diagnostic(severity, message, at: lastLayerLocation,
                          help: output.dims.count == 1 ? "make the last linear layer 'linear: {out: $classes}'" : headHelp,
                          notes: notes)
    }
}
