import NetcIR

extension YAMLNode {
    /// A plain, untagged scalar: one whose text the schema may read as a number or boolean.
    var isPlainScalar: Bool { tag == nil && scalar?.style == .plain }

    /// A key made by the reader, for per-stage lists rewritten into stages.
    static func syntheticKey(_ name: String, at location: SourceLocation) -> YAMLNode {
        YAMLNode(.scalar(YAMLScalar(name)), at: location)
    }

    static func emptyMapping(at location: SourceLocation) -> YAMLNode {
        YAMLNode(.mapping([]), at: location)
    }
}
