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
    _ = c.renderDiagnostics()
    if let graph = c.graph, c.succeeded {
        _ = graph.cost
        let summary = Summary(graph, batch: 1, depth: 3)
        _ = summary.renderText()
        _ = summary.renderJSON()
    }
    return 0
}
