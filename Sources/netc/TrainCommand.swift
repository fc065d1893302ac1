import ArgumentParser
import Foundation
import NetcIR
import NetcSpec
import NetcTrain

struct TrainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Train a spec on Fashion-MNIST or another dataset (IDX, CIFAR, NumPy, an image folder) with SGD or AdamW.",
        discussion: """
            The recipe comes from the spec's train: section (d2l's defaults where it is silent: \
            SGD, lr 0.01, batch 128, 10 epochs, Xavier init; images resized to the spec's declared \
            input size, 96x96 for the chapter's specs); each key can be overridden \
            here. A run directory (runs/<name>-<timestamp>/ unless --out) receives metrics.jsonl, \
            curves.svg, a copy of the spec and checkpoint.safetensors (written atomically at each \
            epoch's end and every --checkpoint-every steps); an existing run is never overwritten. \
            Ctrl-C (or SIGTERM) saves a checkpoint and stops; --resume RUN_DIR continues exactly where the \
            checkpoint left off, taking --epochs --lr --momentum --weight-decay --schedule \
            --warmup-epochs --data --checkpoint-every --log-every --test-limit (not --batch --resize --seed --limit \
            --optimizer).
            """)

    @Argument(help: "A spec file or bundled architecture name (default: resnet18).")
    var spec: String?

    @Option(parsing: .unconditional, help: "Passes over the training set.") var epochs: Int?
    @Option(parsing: .unconditional, help: "Minibatch size.") var batch: Int?
    @Option(help: "The optimizer: sgd or adamw (with its own defaults for --lr and --weight-decay).") var optimizer: String?
    @Option(parsing: .unconditional, help: "Learning rate.") var lr: Double?
    @Option(parsing: .unconditional, help: "SGD momentum, at least 0 and below 1.") var momentum: Double?
    @Option(name: .customLong("weight-decay"), parsing: .unconditional, help: "L2 penalty added to the gradient.") var weightDecay: Double?
    @Option(help: "Learning-rate schedule: constant, step or cosine.") var schedule: String?
    @Option(name: .customLong("warmup-epochs"), parsing: .unconditional, help: "Epochs of linear warmup.") var warmupEpochs: Int?
    @Option(parsing: .unconditional, help: "Resize images to this size (default: the spec's input size; 28 keeps Fashion-MNIST's own).") var resize: Int?
    @Option(parsing: .unconditional, help: "Random seed (0 or more); the same seed repeats a run exactly.") var seed: Int?
    @Option(parsing: .unconditional, help: "Train on the first N training images only.") var limit: Int?
    @Option(name: .customLong("test-limit"), parsing: .unconditional, help: "Evaluate on the first N test images only.") var testLimit: Int?
    @Option(help: "Directory of IDX files (default: the dataset's, /usr/share/datasets/fashion-mnist).") var data: String?
    @Option(help: "Run directory (default: runs/<name>-<timestamp>).") var out: String?
    @Option(name: .customLong("checkpoint-every"), parsing: .unconditional, help: "Also checkpoint every N steps.") var checkpointEvery: Int?
    @Option(name: .customLong("log-every"), parsing: .unconditional, help: "Log a metrics line every N steps.") var logEvery: Int?
    @Option(help: "Continue the run in this directory from its checkpoint.") var resume: String?
    @Flag(name: .customLong("sync-bn"), help: "Under mpirun: batch norm takes its statistics over all ranks' images, as one process would over the whole batch (default: each rank's own, as PyTorch DDP's).")
    var syncBatchNorm = false
    @Option(name: .customLong("bucket-mb"), parsing: .unconditional,
            help: "Under mpirun: sum gradients in buckets of this many MiB, each started as soon as backward completes it, 0 for one sum after backward.")
    var bucketMiB: Double = 4
    @Option(help: "Start from these weights (a netc checkpoint, or a PyTorch state_dict saved with safetensors) instead of an initialisation.")
    var weights: String?

    func validate() throws {
        for (name, value) in [("batch", batch), ("limit", limit), ("test-limit", testLimit), ("checkpoint-every", checkpointEvery), ("log-every", logEvery)] {
            try RecipeFlags.check(name, value.flatMap(RecipeLimits.count))
        }
        // Huge epochs or sizes overflowed the schedule's and the shapes' arithmetic (a trap).
        try RecipeFlags.check("epochs", epochs.flatMap(RecipeLimits.boundedCount))
        try RecipeFlags.check("resize", resize.flatMap(RecipeLimits.boundedCount))
        if let optimizer { _ = try RecipeFlags.optimizer(optimizer) }
        try RecipeFlags.check("lr", lr.flatMap(RecipeLimits.learningRate))
        try RecipeFlags.check("momentum", momentum.flatMap(RecipeLimits.momentum))
        try RecipeFlags.check("weight-decay", weightDecay.flatMap(RecipeLimits.weightDecay))
        try RecipeFlags.check("warmup-epochs", warmupEpochs.flatMap(RecipeLimits.warmupEpochs))
        try RecipeFlags.check("seed", seed.flatMap(RecipeLimits.seed))
        guard (0...1024).contains(bucketMiB) else { throw ValidationError("--bucket-mb must be from 0 to 1024 (MiB), got \(bucketMiB)") }
        if let schedule, TrainSpec.Schedule(name: schedule) == nil {
            throw ValidationError("--schedule must be constant, step or cosine, got '\(schedule)'")
        }
        // An empty --out once meant the current directory, and the run went into it whatever it held.
        try RecipeFlags.checkPaths([("out", out), ("resume", resume), ("data", data), ("weights", weights)])
        if resume != nil, spec != nil { throw ValidationError("--resume takes the spec from the run directory; give no SPEC") }
        if resume != nil, out != nil { throw ValidationError("--resume continues the run in its own directory; give no --out") }
        if resume != nil, weights != nil { throw ValidationError("--resume continues from the run's own checkpoint; give no --weights") }
    }

    func run() throws {
        // Under mpirun every rank runs this command; rank 0 speaks for them and writes the run.
        let world = Communicator.world
        if !world.isLeader { silenceOutput() }
        // An error or a stop ends this rank on purpose: rank 0 must not report it as a death.
        defer { world.leave() }
        try reportingErrors {
            if let resume { try continueRun(in: resume) } else { try startRun() }
        }
        world.finish()
    }

    /// Ranks other than 0 train alongside it and write nothing: it owns the run directory, and a
    /// rank that fails stops the job through mpirun, which reports its exit.
    func silenceOutput() {
        let null = open("/dev/null", O_WRONLY)
        if null >= 0 { dup2(null, 1); dup2(null, 2) }
    }

    func startRun() throws {
        let declared = SpecArgument.compile(spec)
        let options = overrides.applied(to: TrainingOptions(spec: declared.spec?.train))
        let size = options.resize.map {
            InputSizeRequest.square($0, from: resize != nil ? "--resize \($0)" : "the spec's recipe (resize: \($0))", flag: "--resize")
        }
        let (compilation, graph) = try compileResized(declared, to: size) { SpecArgument.compile(spec, input: $0) }
        printWarnings(compilation)
        let world = Communicator.world
        guard world.isLeader else {
            let trainer = try makeTrainer(graph, compilation.source, options, in: out ?? "")
            if let weights { _ = try trainer.startFrom(weights: weights, given: compilation) }
            _ = try trainer.run()
            return
        }
        let run = try RunDirectory.createForNewRun(out ?? RunDirectory.defaultPath(forSpecNamed: graph.name))
        defer { run.unlock() }
        let cost = graph.cost
        print("training \(graph.name) (\(NetcIR.Summary.grouped(cost.parameters)) params) on \(options.dataDirectory ?? options.dataset)"
              + " at \(graph.inputShape.height)x\(graph.inputShape.width), batch \(options.batch), \(options.epochs) epoch(s),"
              + " \(optimizerDescription(options.recipe)), \(options.schedule.name) schedule"
              + (world.size > 1 ? ", data parallel over \(world.size) ranks" + (syncBatchNorm ? " (batch norm synchronised)" : "") : "")
              + " -> \(run.path)")
        let result = try run.removingIfFailedBeforeCheckpoint {
            try run.writeSpec(compilation.source)
            let trainer = try makeTrainer(graph, compilation.source, options, in: run.path)
            if let weights {
                if let warning = try trainer.startFrom(weights: weights, given: compilation) { printError("warning: \(warning)\n") }
                print("starting from the weights in \(weights)")
            }
            return try trainer.run()
        }
        try finish(result, in: run.path)
    }

    func continueRun(in directory: String) throws {
        // Every rank reads the checkpoint (the run may resume over a different number of ranks);
        // rank 0 alone locks the directory it writes.
        let world = Communicator.world
        let run = world.isLeader ? try RunDirectory.openForResume(directory) : nil
        defer { run?.unlock() }
        let checkpointPath = run?.checkpointPath ?? (directory as NSString).appendingPathComponent(RunDirectory.checkpointName)
        let specPath = run?.specPath ?? (directory as NSString).appendingPathComponent(RunDirectory.specName)
        let resumption = try Resumption(checkpoint: Checkpoint.read(checkpointPath), from: checkpointPath, overrides: overrides)
        if resumption.isComplete {
            print(resumption.completeMessage(runDirectory: directory))
            return
        }
        guard let spec = resumption.checkpoint.spec else {
            throw TrainingError("\(checkpointPath) holds weights without netc's metadata, so the run cannot resume from it",
                                help: "start a new run")
        }
        let graph = try compile(SpecArgument.compile(text: spec, file: specPath, input: resumption.options))
        print(resumption.startMessage(name: graph.name))
        try finish(makeTrainer(graph, spec, resumption.options, in: directory, resume: resumption).run(), in: directory)
    }

    /// A trainer with this command's data-parallel settings.
    func makeTrainer(_ graph: Graph, _ specText: String, _ options: TrainingOptions, in directory: String,
                     resume: Resumption? = nil) throws -> Trainer {
        let trainer = try Trainer(graph: graph, specText: specText, options: options, runDirectory: directory, resume: resume)
        if syncBatchNorm && Communicator.world.size == 1 {
            printError("warning: --sync-bn has no effect in one process: it sums batch norm's statistics over the ranks of `mpirun -np N netc train ...`\n")
        }
        trainer.synchronizeBatchNorm = syncBatchNorm
        trainer.gradientBucketBytes = Int(bucketMiB * 1048576)
        return trainer
    }

    func finish(_ result: TrainingResult, in directory: String) throws {
        if result.stoppedByInterrupt { throw ExitCode(result.interruptExitStatus) }
        print("run directory: \(directory)")
    }

    var overrides: TrainingOverrides {
        var o = TrainingOverrides()
        o.epochs = epochs
        o.batch = batch
        o.optimizer = optimizer.flatMap(TrainSpec.Optimizer.init(rawValue:))
        o.lr = lr
        o.momentum = momentum
        o.weightDecay = weightDecay
        o.schedule = schedule.flatMap(TrainSpec.Schedule.init(name:))
        o.warmupEpochs = warmupEpochs
        o.resize = resize
        o.seed = seed
        o.limit = limit
        o.testLimit = testLimit
        o.dataDirectory = data
        o.checkpointEvery = checkpointEvery
        o.logEvery = logEvery
        return o
    }
}

/// `SGD lr 0.01 momentum 0.9`, `AdamW lr 0.001 weight decay 0.01`: what the run's first line says.
func optimizerDescription(_ t: TrainSpec) -> String {
    switch t.optimizer {
    case .sgd: "SGD lr \(t.lr)" + (t.momentum > 0 ? " momentum \(t.momentum)\(t.nesterov ? " (Nesterov)" : "")" : "")
        + (t.weightDecay > 0 ? " weight decay \(t.weightDecay)" : "")
    case .adamw: "AdamW lr \(t.lr) betas (\(t.beta1), \(t.beta2)) weight decay \(t.weightDecay)"
    }
}
