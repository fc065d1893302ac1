import NetcIR
import NetcSpec

/// A spec that did not compile, as its rendered diagnostics (`file:line:column: error: ...`).
/// They carry their own severity, so the command line prints them as they are, with no
/// `error:` in front.
public struct SpecCompilationError: Error, CustomStringConvertible {
    public let description: String

    /// The diagnostics of a spec that is wrong in itself.
    public init(_ compilation: Compilation) {
        description = compilation.renderDiagnostics()
    }

    /// A spec that compiles at its `declared` input size but not at the size `request` asked for:
    /// the size is at fault, so the spec's own complaints are shown as notes under one error
    /// that names the size, who asked for it, and a size that works.
    public init(_ compilation: Compilation, network: String, request: InputSizeRequest, declared: Shape) {
        var c = compilation
        let cause = Diagnostic.error("\(network) cannot run on \(request.height)x\(request.width) images, the size from \(request.source)",
                                     at: nil, help: request.help(declared))
        c.diagnostics = [cause] + c.diagnostics.map { d in
            var d = d
            if d.severity == .error { d.severity = .note }
            return d
        }
        description = c.renderDiagnostics()
    }
}
