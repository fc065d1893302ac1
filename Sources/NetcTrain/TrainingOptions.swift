import Foundation
import NetcSpec

/// A training run's full recipe: the spec's `train:` section with command-line overrides applied,
/// plus how this run reads data and writes. Saved in every checkpoint so `--resume` continues the
/// same run. Recipe fields read through: `options.lr` is `options.recipe.lr`.
@dynamicMemberLookup
public struct TrainingOptions: Codable, Equatable, Sendable {
    public var recipe: TrainSpec
    /// Directory of IDX files; nil means the dataset's default location.
    public var dataDirectory: String?
    /// Train on the first `limit` training images only (quick runs and tests); nil: all.
    public var limit: Int?
    /// Evaluate on the first `testLimit` test images only, so a quick run is quick end to end; nil: all.
    public var testLimit: Int?
    /// Save a checkpoint every this many steps as well as at each epoch's end; nil: epochs only.
    public var checkpointEvery: Int?
    /// Log a metrics line every this many steps.
    public var logEvery = 50

    /// The recipe a spec asks for, d2l's defaults where it is silent.
    public init(spec: TrainSpec? = nil) {
        recipe = spec ?? TrainSpec()
    }

    public subscript<T>(dynamicMember field: WritableKeyPath<TrainSpec, T>) -> T {
        get { recipe[keyPath: field] }
        set { recipe[keyPath: field] = newValue }
    }

    /// Throws if a recipe value is out of range (a library caller's or a hand-edited checkpoint's:
    /// the spec reader and the command line refuse them earlier, at their source).
    public func checkRanges() throws {
        let problems = rangeProblems()
        guard problems.isEmpty else {
            throw TrainingError("the training recipe is out of range: " + problems.joined(separator: "; "))
        }
    }

    /// Each value out of range, as "'batch' must be at least 1, got 0"; empty when all are in range.
    func rangeProblems() -> [String] {
        let problems = [("lr", RecipeLimits.learningRate(recipe.lr)), ("momentum", RecipeLimits.momentum(recipe.momentum)),
                        ("weight_decay", RecipeLimits.weightDecay(recipe.weightDecay)),
                        ("betas", RecipeLimits.beta(recipe.beta1) ?? RecipeLimits.beta(recipe.beta2)),
                        ("eps", RecipeLimits.epsilon(recipe.epsilon)),
                        ("warmup_epochs", RecipeLimits.warmupEpochs(recipe.warmupEpochs)), ("seed", RecipeLimits.seed(recipe.seed)),
                        ("batch", RecipeLimits.count(recipe.batch)), ("epochs", RecipeLimits.boundedCount(recipe.epochs)),
                        ("limit", limit.flatMap(RecipeLimits.count)), ("test-limit", testLimit.flatMap(RecipeLimits.count)), ("resize", recipe.resize.flatMap(RecipeLimits.boundedCount)),
                        ("checkpoint_every", checkpointEvery.flatMap(RecipeLimits.count)), ("log_every", RecipeLimits.count(logEvery)),
                        ("schedule", Self.scheduleProblem(recipe.schedule))]
            .compactMap { name, problem in problem.map { "'\(name)' \($0)" } }
        return problems
    }

    /// A step schedule decays every `every` epochs (a divisor) by a positive finite `gamma`.
    static func scheduleProblem(_ schedule: TrainSpec.Schedule) -> String? {
        guard case .step(let every, let gamma) = schedule, every < 1 || !(gamma.isFinite && gamma > 0) else { return nil }
        return "step needs 'every' of at least 1 and a positive 'gamma', got every \(every), gamma \(gamma)"
    }

    /// The IDX directory to read: `--data`, a directory given as the dataset, or the dataset's home.
    public func resolvedDataDirectory() throws -> String {
        if let dataDirectory { return dataDirectory }
        switch recipe.dataset {
        case "fashion-mnist": return IDXDataset.defaultDirectory
        case "mnist":
            for dir in ["/usr/share/datasets/mnist", "/usr/share/mnist"] where FileManager.default.fileExists(atPath: dir) {
                return dir
            }
            throw TrainingError("no MNIST directory found", help: "pass --data DIR with MNIST's IDX files (train-images-idx3-ubyte.gz, ...)")
        default:
            var isDirectory: ObjCBool = false
            if FileManager.default.fileExists(atPath: recipe.dataset, isDirectory: &isDirectory), isDirectory.boolValue { return recipe.dataset }
            throw TrainingError("unknown dataset '\(recipe.dataset)'",
                                help: "use fashion-mnist, mnist, or a directory of IDX files (also: --data DIR)")
        }
    }
}

/// A training failure with a message for the user and, where known, how to fix it.
public struct TrainingError: Error, CustomStringConvertible {
    public var message: String
    public var help: String?
    public init(_ message: String, help: String? = nil) {
        self.message = message
        self.help = help
    }
    public var description: String { help.map { "\(message)\nhelp: \($0)" } ?? message }
}
