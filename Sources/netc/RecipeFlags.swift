import ArgumentParser
import NetcSpec

/// Range checks of the recipe flags (`--lr`, `--momentum`, ...), worded as the spec's own checks
/// (`RecipeLimits`) but naming the flag.
enum RecipeFlags {
    /// Throws `--<flag> <problem>` when `RecipeLimits` found one.
    static func check(_ flag: String, _ problem: String?) throws {
        if let problem { throw ValidationError("--\(flag) \(problem)") }
    }

    /// The optimizer `--optimizer` names.
    static func optimizer(_ name: String) throws -> TrainSpec.Optimizer {
        guard let o = TrainSpec.Optimizer(rawValue: name) else {
            throw ValidationError("--optimizer is '\(name)'; netc has " + TrainSpec.Optimizer.allCases.map(\.rawValue).joined(separator: " and "))
        }
        return o
    }

    /// A path flag given as an empty string names no file or directory.
    static func checkPaths(_ flags: [(String, String?)]) throws {
        for (flag, value) in flags where value?.isEmpty == true {
            throw ValidationError("--\(flag) is empty; give a path")
        }
    }
}
