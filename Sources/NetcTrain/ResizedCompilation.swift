import NetcIR
import NetcSpec

/// An input size a command asks a spec to run at, and who asked: if the spec's layers cannot
/// take it, the error blames the asker and says how to ask for a size that works.
public struct InputSizeRequest {
    public var height: Int
    public var width: Int
    /// Who asks, a noun phrase: `--resize 64`, `the spec's recipe (resize: 64)`, `x.npy's images`.
    public var source: String
    /// How to fix the request, given the declared size the spec is known to take.
    let help: (Shape) -> String

    /// A square size from a flag, or from a recipe that `flag` overrides (nil: no flag can).
    ///
    ///     InputSizeRequest.square(64, from: "the spec's recipe (resize: 64)", flag: "--resize")
    public static func square(_ size: Int, from source: String, flag: String?) -> InputSizeRequest {
        InputSizeRequest(height: size, width: size, source: source) { declared in
            let ask = flag.flatMap { declared.height == declared.width ? " (\($0) \(declared.height))" : nil } ?? ""
            return "use a size the network's layers can take, such as its declared \(declared.height)x\(declared.width)\(ask)"
        }
    }

    /// The size of a batch file's images (`netc run`, `netc step`): only the file can change it.
    public static func images(of input: InputBatch) -> InputSizeRequest {
        InputSizeRequest(height: input.sampleShape[1], width: input.sampleShape[2], source: "\(input.source)'s images") { declared in
            "resize \(input.source)'s images to a size the network's layers can take, such as its declared \(declared.height)x\(declared.width)"
        }
    }
}

/// Compiles a spec at the input size a command asks for: `declared` is the spec compiled at its
/// own size; `recompile` compiles it at another. Recompiles only when `size` differs from the
/// declared height and width, so the result is one compilation, and its warnings are said once.
///
/// Throws `SpecCompilationError`: the spec's own errors if `declared` failed, or one error that
/// blames `size` (the spec's complaints as notes) if only the resized compilation did.
///
///     let declared = Compiler.compile(path: "resnet18.yaml")
///     let (c, graph) = try compileResized(declared, to: .square(28, from: "--resize 28", flag: "--resize")) {
///         Compiler.compile(path: "resnet18.yaml", input: $0)
///     }
public func compileResized(_ declared: Compilation, to size: InputSizeRequest?,
                           recompile: (Shape) -> Compilation) throws -> (compilation: Compilation, graph: Graph) {
    guard let declaredGraph = declared.graph, declared.succeeded else { throw SpecCompilationError(declared) }
    let input = declaredGraph.inputShape
    guard let size, size.height != input.height || size.width != input.width else { return (declared, declaredGraph) }
    let resized = recompile(.map(input.channels, size.height, size.width))
    guard let graph = resized.graph, resized.succeeded else {
        throw SpecCompilationError(resized, network: declaredGraph.name, request: size, declared: input)
    }
    return (resized, graph)
}
