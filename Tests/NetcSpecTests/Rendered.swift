import NetcSpec

/// Compiles `yaml` as spec.yaml and renders its diagnostics as `netc check` prints them.
func rendered(_ yaml: String) -> (text: String, succeeded: Bool) {
    let c = Compiler.compile(source: yaml, file: "spec.yaml")
    return (c.renderDiagnostics(), c.succeeded)
}
