import Foundation
import NetcIR
import NetcRuntime
import NetcSpec
import Testing
@testable import NetcTrain

/// `--resume` takes the overrides that can change between two steps, refuses the others by
/// name, says when a run is already complete, and never guesses a recipe it cannot read.
@Suite struct ResumptionTests {
    /// A run's recipe as its checkpoints record it: d2l's defaults at the chapter's 96x96.
    static let recipe = { var o = TrainingOptions(); o.resize = 96; return o }()

    static func checkpoint(epoch: Int = 1, options: TrainingOptions = recipe) -> Checkpoint.Contents {
        Checkpoint.Contents(spec: "", options: options, position: TrainingState(step: epoch * 469, epoch: epoch),
                            missingForResume: [], optimizerSteps: 0, file: SafetensorsFile())
    }

    static let refusals: [(TrainingOverrides, String)] = {
        var batch = TrainingOverrides(), resize = TrainingOverrides(), seed = TrainingOverrides(), limit = TrainingOverrides()
        (batch.batch, resize.resize, seed.seed, limit.limit) = (256, 28, 1, 1000)
        return [
            (batch, "--batch cannot change when resuming: this run trains with batch 128, not batch 256, and the batch size fixes each epoch's steps and the images in each step\nhelp: drop --batch to continue this run, or start a new run (without --resume) to train with it"),
            (resize, "--resize cannot change when resuming: this run trains with 96x96, not 28x28, and the weights and batch-norm statistics were learned at that input size\nhelp: drop --resize to continue this run, or start a new run (without --resume) to train with it"),
            (seed, "--seed cannot change when resuming: this run trains with seed 0, not seed 1, and the seed fixes each epoch's shuffle\nhelp: drop --seed to continue this run, or start a new run (without --resume) to train with it"),
            (limit, "--limit cannot change when resuming: this run trains with every image, not 1000 images, and the number of training images fixes each epoch's steps and shuffle\nhelp: drop --limit to continue this run, or start a new run (without --resume) to train with it"),
        ]
    }()

    @Test(arguments: refusals)
    func refusesOverridesThatChangeTheBatches(_ overrides: TrainingOverrides, _ message: String) {
        let error = #expect(throws: TrainingError.self) { try Resumption(checkpoint: Self.checkpoint(), from: "c", overrides: overrides) }
        #expect(error?.description == message)
    }

    @Test func takesTheOthersAndRecordsEachChange() throws {
        var o = TrainingOverrides()
        (o.epochs, o.lr, o.momentum, o.weightDecay, o.schedule) = (12, 0.05, 0.9, 5e-4, .cosine)
        (o.warmupEpochs, o.dataDirectory, o.checkpointEvery, o.logEvery) = (1, "/data", 100, 10)
        (o.batch, o.resize, o.seed) = (128, 96, 0)  // the run's own values: not a change, not refused
        let r = try Resumption(checkpoint: Self.checkpoint(), from: "c", overrides: o)
        #expect(r.changes == ["--epochs 10 -> 12", "--lr 0.01 -> 0.05", "--momentum 0.0 -> 0.9", "--weight-decay 0.0 -> 0.0005",
                              "--schedule constant -> cosine", "--warmup-epochs 0 -> 1", "--data (the dataset's default) -> /data",
                              "--checkpoint-every (epoch ends only) -> 100", "--log-every 50 -> 10"])
        #expect(r.options == o.applied(to: Self.recipe))
        #expect(try Resumption(checkpoint: Self.checkpoint(), from: "c", overrides: TrainingOverrides()).changes.isEmpty)
    }

    @Test func aCompleteRunSaysSo() throws {
        var options = TrainingOptions()
        options.epochs = 2
        let r = try Resumption(checkpoint: Self.checkpoint(epoch: 2, options: options), from: "c", overrides: TrainingOverrides())
        #expect(r.isComplete)
        #expect(r.completeMessage(runDirectory: "runs/x") == """
            runs/x is already complete: 2 of 2 epoch(s) trained (step 938); nothing to resume
            help: to train longer, resume with --epochs N above 2
            """)
        var more = TrainingOverrides()
        more.epochs = 3
        #expect(try !Resumption(checkpoint: Self.checkpoint(epoch: 2, options: options), from: "c", overrides: more).isComplete)
    }

    /// A checkpoint whose recipe or position cannot be read is an error naming the field, not
    /// d2l's defaults (which a resume would then train with and write back). `PATH` stands for
    /// the checkpoint's path.
    @Test(arguments: [
        ("options", #"{"recipe":{"dataset":"mnist"}}"#, "PATH: cannot read the training recipe in __metadata__ 'options': 'recipe': missing 'batch'\nhelp: the file was edited or damaged; netc will not guess the recipe of a run"),
        ("options", "{", "PATH: cannot read the training recipe in __metadata__ 'options': The given data was not valid JSON.\nhelp: the file was edited or damaged; netc will not guess the recipe of a run"),
        ("options", nil, "PATH cannot be resumed: its __metadata__ has no 'options'\nhelp: netc writes the recipe and the run's position into every checkpoint it trains; a file with weights only can be evaluated (netc eval) but not continued"),
        ("step", "12a", "PATH: __metadata__ 'step' is '12a', not a whole number\nhelp: the file was edited or damaged"),
        ("epoch", nil, "PATH cannot be resumed: its __metadata__ has no 'epoch'\nhelp: netc writes the recipe and the run's position into every checkpoint it trains; a file with weights only can be evaluated (netc eval) but not continued"),
        ("epoch_loss_sum", "nan", "PATH: __metadata__ 'epoch_loss_sum' is 'nan', not a finite number\nhelp: the file was edited or damaged"),
    ] as [(String, String?, String)])
    func unreadableMetadataIsAnError(_ key: String, _ value: String?, _ message: String) throws {
        let dir = try makeTempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = "\(dir)/checkpoint.safetensors"
        try Self.saveCheckpoint(path) { $0[key] = value }
        let error = #expect(throws: TrainingError.self) {
            try Resumption(checkpoint: Checkpoint.read(path), from: path, overrides: TrainingOverrides())
        }
        #expect(error?.description == message.replacingOccurrences(of: "PATH", with: path))
    }

    /// Weights with just the spec (as scripts/compare_pytorch.py writes them) still load for
    /// netc eval, run and step.
    @Test func weightsOnlyFilesStillRead() throws {
        let dir = try makeTempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = "\(dir)/weights.safetensors"
        try Self.saveCheckpoint(path) { $0 = ["spec": $0["spec"]!] }
        let contents = try Checkpoint.read(path)
        #expect(contents.options == nil && contents.position == nil)
        #expect(contents.missingForResume == ["options", "step", "epoch", "step_in_epoch"])
    }

    static func saveCheckpoint(_ path: String, editing edit: (inout [String: String]) -> Void) throws {
        try Checkpoint.save(to: path, store: ParameterStore(graph: try TrainerTests.graph()), optimizer: nil, spec: TrainerTests.spec,
                            options: TrainingOptions(), state: TrainingState(step: 3))
        var file = try SafetensorsFile.read(path)
        edit(&file.metadata)
        try file.write(to: path)
    }
}
