import NetcSpec

/// The command line's changes to a recipe (`--lr 0.05`, ...); nil leaves a field as it is.
///
/// A new run takes them all. A resumed run takes those that can change between two steps without
/// breaking the run (rates, epochs, where data and checkpoints go) and refuses those that fix
/// each epoch's batches, the input shape or the optimizer's state (`--batch`, `--resize`,
/// `--seed`, `--limit`, `--optimizer`).
public struct TrainingOverrides: Sendable {
    public var epochs: Int?
    public var batch: Int?
    /// Another optimizer starts from its own defaults (AdamW: lr 0.001, weight decay 0.01)
    /// where `--lr` and `--weight-decay` do not say.
    public var optimizer: TrainSpec.Optimizer?
    public var lr: Double?
    public var momentum: Double?
    public var weightDecay: Double?
    public var schedule: TrainSpec.Schedule?
    public var warmupEpochs: Int?
    public var resize: Int?
    public var seed: Int?
    public var limit: Int?
    public var testLimit: Int?
    public var dataDirectory: String?
    public var checkpointEvery: Int?
    public var logEvery: Int?

    public init() {}

    /// The options of a new run: every override applied.
    public func applied(to options: TrainingOptions) -> TrainingOptions {
        var o = options
        if let epochs { o.epochs = epochs }
        if let batch { o.batch = batch }
        if let optimizer, optimizer != o.optimizer {
            let defaults = TrainSpec.defaults(for: optimizer)
            (o.optimizer, o.lr, o.weightDecay) = (optimizer, defaults.lr, defaults.weightDecay)
        }
        if let lr { o.lr = lr }
        if let momentum { o.momentum = momentum }
        if let weightDecay { o.weightDecay = weightDecay }
        // `--schedule step` keeps a spec's own step parameters.
        if let schedule, schedule.name != o.schedule.name { o.schedule = schedule }
        if let warmupEpochs { o.warmupEpochs = warmupEpochs }
        if let resize { o.resize = resize }
        if let seed { o.seed = seed }
        if let limit { o.limit = limit }
        if let testLimit { o.testLimit = testLimit }
        if let dataDirectory { o.dataDirectory = dataDirectory }
        if let checkpointEvery { o.checkpointEvery = checkpointEvery }
        if let logEvery { o.logEvery = logEvery }
        return o
    }

    /// The options a resumed run continues with, and each change as `--lr 0.01 -> 0.05`.
    /// Throws for an override that would change each epoch's batches or the input shape.
    public func appliedOnResume(to options: TrainingOptions) throws -> (options: TrainingOptions, changes: [String]) {
        try refuse("batch", batch, options.batch, "the batch size fixes each epoch's steps and the images in each step",
                   show: { "batch \($0)" })
        try refuse("resize", resize.map(Optional.some), options.resize, "the weights and batch-norm statistics were learned at that input size",
                   show: { $0.map { "\($0)x\($0)" } ?? "the spec's declared size" })
        try refuse("seed", seed, options.seed, "the seed fixes each epoch's shuffle", show: { "seed \($0)" })
        try refuse("optimizer", optimizer, options.optimizer, "the checkpoint holds that optimizer's state", show: { $0.rawValue })
        try refuse("limit", limit.map(Optional.some), options.limit, "the number of training images fixes each epoch's steps and shuffle",
                   show: { $0.map { "\($0) images" } ?? "every image" })
        let new = applied(to: options)
        var changes: [String] = []
        func note<T: Equatable>(_ flag: String, _ field: KeyPath<TrainingOptions, T>, _ show: (T) -> String) {
            if options[keyPath: field] != new[keyPath: field] {
                changes.append("--\(flag) \(show(options[keyPath: field])) -> \(show(new[keyPath: field]))")
            }
        }
        note("epochs", \.recipe.epochs, String.init)
        note("lr", \.recipe.lr) { "\($0)" }
        note("momentum", \.recipe.momentum) { "\($0)" }
        note("weight-decay", \.recipe.weightDecay) { "\($0)" }
        note("schedule", \.recipe.schedule.name) { $0 }
        note("warmup-epochs", \.recipe.warmupEpochs, String.init)
        note("data", \.dataDirectory) { $0 ?? "(the dataset's default)" }
        note("checkpoint-every", \.checkpointEvery) { $0.map(String.init) ?? "(epoch ends only)" }
        note("log-every", \.logEvery, String.init)
        note("test-limit", \.testLimit) { $0.map { "\($0) images" } ?? "every image" }
        return (new, changes)
    }

    private func refuse<T: Equatable>(_ flag: String, _ value: T?, _ current: T, _ why: String,
                                      show: (T) -> String) throws {
        guard let value, value != current else { return }
        throw TrainingError("--\(flag) cannot change when resuming: this run trains with \(show(current)), not \(show(value)), and \(why)",
                            help: "drop --\(flag) to continue this run, or start a new run (without --resume) to train with it")
    }
}
