import NetcIR
import NetcSpec

/// libFuzzer entry point over the whole front end: spec bytes go through the same
/// `Compiler.compile(bytes:file:)` the CLI calls, then through everything `netc check`
/// and `netc summary` print. Any input must end in diagnostics or a graph, never a trap.
/// Built only by `make fuzz` (see Package.swift).
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzSpec(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    let c = Compiler.compile(bytes: bytes, file: "fuzz.yaml")
    exercise(c)
    // `netc summary --input` recompiles at another size: small sizes reach the shape errors.
    if let spec = c.spec {
        let size = 1 + size % 40
        exercise(Compiler.compile(bytes: bytes, file: "fuzz.yaml", input: .map(spec.input.channels, size, size)))
    }
    return 0
}

/// Everything `netc check`, `netc summary` and `netc train` do with a compilation short of running it.
private func exercise(_ c: Compilation) {
    _ = c.renderDiagnostics()
    guard let graph = c.graph, c.succeeded else { return }
    _ = graph.cost
    let summary = Summary(graph, batch: 1, depth: 3)
    _ = summary.renderText()
    _ = summary.renderJSON()
}
