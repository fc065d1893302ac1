import Foundation
import NetcIR

/// The result of compiling one spec: whatever stages succeeded, and every diagnostic.
public struct Compilation: Sendable {
    public var file: String
    public var source: String
    public var spec: Spec?
    public var graph: Graph?
    public var diagnostics: [Diagnostic]
    /// How the tensors are named in PyTorch: the spec's `pytorch_names` with its templates' names
    /// for their layers; nil when the spec has no `pytorch_names` (netc's names are used).
    public var pytorchNames: TensorNaming? = nil

    /// Whether the spec compiled to a graph with no errors (warnings allowed).
    public var succeeded: Bool { graph != nil && !diagnostics.hasErrors }

    /// Renders the diagnostics with source excerpts, the prelude's included.
    public func renderDiagnostics() -> String {
        DiagnosticRenderer(sources: [file: source, Prelude.file: Prelude.source]).render(diagnostics)
    }
}

/// Compiles specs: YAML text to a shape-checked graph.
///
///     let c = Compiler.compile(source: text, file: "resnet18.yaml")
///     if let g = c.graph { print(g.outputShape) } else { print(c.renderDiagnostics()) }
public enum Compiler {
    /// Specs larger than this are refused rather than parsed: no real architecture comes close.
    public static let maxFileSize = YAMLLimits.default.maxBytes

    /// Largest integer a size, count or stride may be: keeps every shape computation far from
    /// overflow. Command-line sizes (`netc summary --input`) take the same bound.
    public static let maxValue = 1 << 20

    public static func compile(source: String, file: String, input: Shape? = nil) -> Compilation {
        compile(bytes: Array(source.utf8), file: file, input: input)
    }

    /// Compiles raw file contents; `input` (CxHxW) overrides the spec's declared input size.
    public static func compile(bytes: [UInt8], file: String, input: Shape? = nil) -> Compilation {
        var c = Compilation(file: file, source: String(decoding: bytes, as: UTF8.self), spec: nil, graph: nil, diagnostics: [])
        let composed = composeYAML(bytes: bytes, file: file)
        c.diagnostics += composed.diagnostics
        guard let root = composed.root else { return c }
        var reader = SpecReader()
        c.spec = reader.readSpec(root, file: file, prelude: Prelude.blocks)
        c.diagnostics += reader.diagnostics
        if var spec = c.spec {
            if let input {
                if input.channels != spec.input.channels {
                    c.diagnostics.append(.error("the input has \(input.channels) channels, but \(spec.name) takes \(spec.input.channels)",
                                                at: spec.input.location, help: "pass an input of \(spec.input.channels)x\(input.height)x\(input.width)"))
                }
                spec.input.height = input.height
                spec.input.width = input.width
                c.spec = spec
            }
            var lowering = Lowering(spec: spec)
            c.graph = lowering.lower()
            c.diagnostics += lowering.diagnostics
            c.pytorchNames = spec.pytorchNameRules.map {
                TensorNaming(rules: $0, stageDepths: lowering.stageDepths, templateNames: lowering.pytorchLayerNames)
            }
            if let graph = c.graph, let problem = spec.classifierHeadDiagnostic(output: graph.outputShape) {
                c.diagnostics.append(problem)
            }
        }
        if c.diagnostics.hasErrors { c.graph = nil }
        // A template layer used twice with the same bad value reports the same thing twice; say it once.
        var seen = Set<Diagnostic>()
        c.diagnostics = c.diagnostics.filter { seen.insert($0).inserted }
        c.diagnostics.sort { a, b in
            guard let x = a.location else { return false }
            guard let y = b.location else { return true }
            return x < y
        }
        return c
    }

    /// Reads and compiles a spec file; missing, oversized or binary files become diagnostics.
    public static func compile(path: String, input: Shape? = nil) -> Compilation {
        let fail = { (message: String, help: String?) in
            Compilation(file: path, source: "", spec: nil, graph: nil, diagnostics: [.error(message, at: nil, help: help)])
        }
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            return fail("\(path): no such file", "check the path; 'netc summary --list' lists the bundled architectures")
        }
        if isDirectory.boolValue { return fail("\(path) is a directory, not a spec file", nil) }
        let attributes = try? FileManager.default.attributesOfItem(atPath: URL(fileURLWithPath: path).resolvingSymlinksInPath().path)
        // A FIFO or a device reads as nothing or forever; say what it is rather than blame permissions.
        if let type = attributes?[.type] as? FileAttributeType, type != .typeRegular {
            let kind = [FileAttributeType.typeCharacterSpecial: "a character device", .typeBlockSpecial: "a block device",
                        .typeSocket: "a socket"][type] ?? "a FIFO"
            return fail("\(path) is \(kind), not a spec file", "give the path of a YAML file")
        }
        // Check the size before reading, so a huge file is refused without loading it.
        let size = (attributes?[.size] as? NSNumber)?.intValue ?? 0
        guard size <= maxFileSize else {
            return fail("\(path) is \(size) bytes; netc refuses specs over \(maxFileSize) bytes", "is this really an architecture spec?")
        }
        guard let data = FileManager.default.contents(atPath: path) else {
            return fail("\(path): cannot read the file", "check its permissions")
        }
        return compile(bytes: Array(data), file: path, input: input)
    }
}
