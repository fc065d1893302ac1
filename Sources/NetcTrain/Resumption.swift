/// A run continued from its checkpoint, with the command line's overrides applied.
///
///     let resumption = try Resumption(checkpoint: Checkpoint.read(path), from: path, overrides: overrides)
///     if resumption.isComplete { print(resumption.completeMessage(runDirectory: dir)) }
public struct Resumption {
    public let checkpoint: Checkpoint.Contents
    /// Where the run stands: the checkpoint's position.
    public let state: TrainingState
    /// The checkpoint's options with the allowed overrides applied.
    public let options: TrainingOptions
    /// Each override that changed something, as `--lr 0.01 -> 0.05`; recorded in metrics.jsonl.
    public let changes: [String]

    /// Throws for a checkpoint (read from `path`) without the recipe or position of its run, and
    /// for an override a resumed run cannot take (see `TrainingOverrides`).
    public init(checkpoint: Checkpoint.Contents, from path: String, overrides: TrainingOverrides) throws {
        guard let recipe = checkpoint.options, let state = checkpoint.position else {
            let missing = checkpoint.missingForResume.map { "'\($0)'" }.joined(separator: ", ")
            throw TrainingError("\(path) cannot be resumed: its __metadata__ has no \(missing)",
                                help: "netc writes the recipe and the run's position into every checkpoint it trains; a file with weights only can be evaluated (netc eval) but not continued")
        }
        self.checkpoint = checkpoint
        self.state = state
        (options, changes) = try overrides.appliedOnResume(to: recipe)
    }

    /// Every epoch is trained: nothing is left to resume.
    public var isComplete: Bool { state.epoch >= options.epochs }

    /// What a resume of a complete run prints (and then it exits 0: the run is in the state asked for).
    public func completeMessage(runDirectory: String) -> String {
        let s = state
        return "\(runDirectory) is already complete: \(s.epoch) of \(options.epochs) epoch(s) trained (step \(s.step)); nothing to resume\n"
            + "help: to train longer, resume with --epochs N above \(s.epoch)"
    }

    /// The line a resume prints before training: where it continues and what it changes.
    public func startMessage(name: String) -> String {
        let s = state
        return "resuming \(name) at epoch \(s.epoch + 1) of \(options.epochs), step \(s.step)"
            + (changes.isEmpty ? "" : " with " + changes.joined(separator: ", "))
    }
}
