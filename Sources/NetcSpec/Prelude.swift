import NetcIR

/// The bundled block templates (`residual`, `bottleneck`, `resnext`, `preact`), written in YAML
/// in Prelude.yaml and read once with the same reader as user specs.
public enum Prelude {
    /// The name prelude locations carry in diagnostics.
    public static let file = "<prelude>"
    public static let source = String(decoding: PackageResources.Prelude_yaml, as: UTF8.self)

    public static let blocks: [String: BlockTemplate] = {
        let composed = composeYAML(source, file: file)
        var reader = SpecReader()
        guard let root = composed.root, let node = root["blocks"] else {
            fatalError("the bundled prelude does not parse: \(composed.diagnostics)")
        }
        let blocks = Dictionary(uniqueKeysWithValues: reader.readBlocks(node))
        precondition(composed.diagnostics.isEmpty && reader.diagnostics.isEmpty,
                     "the bundled prelude has errors: \(composed.diagnostics + reader.diagnostics)")
        return blocks
    }()
}
