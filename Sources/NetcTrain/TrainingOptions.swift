import Foundation
import NetcSpec

/// A training run's full recipe: the spec's `train:` section with command-line overrides applied,
/// plus where the run writes. Saved in every checkpoint so `--resume` continues the same run.
public struct TrainingOptions: Codable, Equatable, Sendable {
    public var dataset = "fashion-mnist"
    /// Directory of IDX files; nil means the dataset's default location.
    public var dataDirectory: String?
    public var resize: Int?
    public var batch = 128
    public var epochs = 10
    public var seed = 0
    public var lr = 0.01
    public var momentum = 0.0
    public var weightDecay = 0.0
    public var schedule = LearningRateSchedule.Kind.constant
    public var stepEvery = 30
    public var stepGamma = 0.1
    public var warmupEpochs = 0
    public var initializer = "xavier"
    /// Train on the first `limit` training images only (quick runs and tests); nil: all.
    public var limit: Int?
    /// Save a checkpoint every this many steps as well as at each epoch's end; nil: epochs only.
    public var checkpointEvery: Int?
    /// Log a metrics line every this many steps.
    public var logEvery = 50

    public init() {}

    /// The recipe a spec asks for, d2l's defaults where it is silent.
    public init(spec: TrainSpec?) {
        let t = spec ?? TrainSpec()
        dataset = t.dataset
        resize = t.resize
        batch = t.batch
        epochs = t.epochs
        seed = t.seed
        lr = t.lr
        momentum = t.momentum
        weightDecay = t.weightDecay
        warmupEpochs = t.warmupEpochs
        initializer = t.initializer.rawValue
        switch t.schedule {
        case .constant: schedule = .constant
        case .cosine: schedule = .cosine
        case .step(let every, let gamma):
            schedule = .step
            stepEvery = every
            stepGamma = gamma
        }
    }

    /// The IDX directory to read: `--data`, a directory given as the dataset, or the dataset's home.
    public func resolvedDataDirectory() throws -> String {
        if let dataDirectory { return dataDirectory }
        switch dataset {
        case "fashion-mnist": return IDXDataset.defaultDirectory
        case "mnist":
            for dir in ["/usr/share/datasets/mnist", "/usr/share/mnist"] where FileManager.default.fileExists(atPath: dir) {
                return dir
            }
            throw TrainingError("no MNIST directory found", help: "pass --data DIR with MNIST's IDX files (train-images-idx3-ubyte.gz, ...)")
        default:
            var isDirectory: ObjCBool = false
            if FileManager.default.fileExists(atPath: dataset, isDirectory: &isDirectory), isDirectory.boolValue { return dataset }
            throw TrainingError("unknown dataset '\(dataset)'",
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
