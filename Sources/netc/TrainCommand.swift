import ArgumentParser
import Foundation
import NetcIR
import NetcSpec
import NetcTrain

struct TrainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Train a spec on Fashion-MNIST (or any IDX dataset) with SGD.",
        discussion: """
            The recipe comes from the spec's train: section (d2l's defaults where it is silent:
            SGD, lr 0.01, batch 128, 10 epochs, 96x96, Xavier init); each key can be overridden
            here. A run directory (runs/<name>-<timestamp>/ unless --out) receives metrics.jsonl,
            curves.svg, a copy of the spec and checkpoint.safetensors (written atomically at each
            epoch's end and every --checkpoint-every steps). Ctrl-C saves a checkpoint and stops;
            --resume RUN_DIR continues exactly where the checkpoint left off.
            """)

    @Argument(help: "A spec file or bundled architecture name (default: resnet18).")
    var spec: String?

    @Option(parsing: .unconditional, help: "Passes over the training set.") var epochs: Int?
    @Option(parsing: .unconditional, help: "Minibatch size.") var batch: Int?
    @Option(parsing: .unconditional, help: "Learning rate.") var lr: Double?
    @Option(parsing: .unconditional, help: "SGD momentum, at least 0 and below 1.") var momentum: Double?
    @Option(name: .customLong("weight-decay"), parsing: .unconditional, help: "L2 penalty added to the gradient.") var weightDecay: Double?
    @Option(help: "Learning-rate schedule: constant, step or cosine.") var schedule: String?
    @Option(name: .customLong("warmup-epochs"), parsing: .unconditional, help: "Epochs of linear warmup.") var warmupEpochs: Int?
    @Option(parsing: .unconditional, help: "Resize images to this size (28 keeps Fashion-MNIST's own).") var resize: Int?
    @Option(parsing: .unconditional, help: "Random seed (0 or more); the same seed repeats a run exactly.") var seed: Int?
    @Option(parsing: .unconditional, help: "Train on the first N training images only.") var limit: Int?
    @Option(help: "Directory of IDX files (default: the dataset's, /usr/share/datasets/fashion-mnist).") var data: String?
    @Option(help: "Run directory (default: runs/<name>-<timestamp>).") var out: String?
    @Option(name: .customLong("checkpoint-every"), parsing: .unconditional, help: "Also checkpoint every N steps.") var checkpointEvery: Int?
    @Option(name: .customLong("log-every"), parsing: .unconditional, help: "Log a metrics line every N steps.") var logEvery: Int?
    @Option(help: "Continue the run in this directory from its checkpoint.") var resume: String?

    func validate() throws {
        for (name, value) in [("epochs", epochs), ("batch", batch), ("resize", resize), ("limit", limit),
                              ("checkpoint-every", checkpointEvery), ("log-every", logEvery)] {
            if let value, value < 1 { throw ValidationError("--\(name) must be at least 1, got \(value)") }
        }
        try RecipeFlags.check("lr", lr.flatMap(RecipeLimits.learningRate))
        try RecipeFlags.check("momentum", momentum.flatMap(RecipeLimits.momentum))
        try RecipeFlags.check("weight-decay", weightDecay.flatMap(RecipeLimits.weightDecay))
        try RecipeFlags.check("warmup-epochs", warmupEpochs.flatMap(RecipeLimits.warmupEpochs))
        try RecipeFlags.check("seed", seed.flatMap(RecipeLimits.seed))
        if let schedule, TrainSpec.Schedule(name: schedule) == nil {
            throw ValidationError("--schedule must be constant, step or cosine")
        }
        if resume != nil, spec != nil { throw ValidationError("--resume takes the spec from the run directory; give no SPEC") }
    }

    func run() throws {
        try reportingErrors {
            let trainer = try makeTrainer()
            let result = try trainer.run()
            if result.stoppedByInterrupt { throw ExitCode(130) }
            print("run directory: \(trainer.runDirectory)")
        }
    }

    func makeTrainer() throws -> Trainer {
        if let resume {
            let path = (resume as NSString).appendingPathComponent("checkpoint.safetensors")
            guard FileManager.default.fileExists(atPath: path) else {
                throw TrainingError("\(resume) has no checkpoint.safetensors", help: "give the run directory that 'netc train' printed")
            }
            let contents = try Checkpoint.read(path)
            var options = contents.options ?? TrainingOptions()
            if let epochs { options.epochs = epochs }
            let graph = try compile(SpecArgument.compile(text: contents.spec, file: "\(resume)/spec.yaml", input: options))
            print("resuming \(graph.name) at epoch \(contents.state.epoch + 1), step \(contents.state.step)")
            return try Trainer(graph: graph, specText: contents.spec, options: options, runDirectory: resume, resume: contents)
        }
        let first = SpecArgument.compile(spec)
        let parsed = try compile(first)
        var options = TrainingOptions(spec: first.spec?.train)
        applyOverrides(&options)
        let compilation = options.resize == nil || options.resize == parsed.inputShape.height
            ? first : SpecArgument.compile(spec, input: .map(parsed.inputShape.channels, options.resize!, options.resize!))
        if let size = options.resize, !compilation.succeeded {
            // It compiled at its declared size: the resize is at fault, not the spec's lines.
            throw SpecCompilationError(compilation, network: parsed.name, size: .map(parsed.inputShape.channels, size, size),
                                       reason: resize != nil ? "--resize \(size)" : "the spec's recipe (resize: \(size))")
        }
        let graph = try compile(compilation)
        let directory = out ?? "runs/\(graph.name)-\(Self.timestamp())"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        try compilation.source.write(toFile: (directory as NSString).appendingPathComponent("spec.yaml"), atomically: true, encoding: .utf8)
        let cost = graph.cost
        print("training \(graph.name) (\(NetcIR.Summary.grouped(cost.parameters)) params) on \(options.dataset)"
              + " at \(graph.inputShape.height)x\(graph.inputShape.width), batch \(options.batch), \(options.epochs) epoch(s),"
              + " SGD lr \(options.lr)\(options.momentum > 0 ? " momentum \(options.momentum)" : ""), \(options.schedule.name) schedule"
              + " -> \(directory)")
        return try Trainer(graph: graph, specText: compilation.source, options: options, runDirectory: directory)
    }

    func applyOverrides(_ o: inout TrainingOptions) {
        if let epochs { o.epochs = epochs }
        if let batch { o.batch = batch }
        if let lr { o.lr = lr }
        if let momentum { o.momentum = momentum }
        if let weightDecay { o.weightDecay = weightDecay }
        if let schedule, let kind = TrainSpec.Schedule(name: schedule), kind.name != o.schedule.name { o.schedule = kind }
        if let warmupEpochs { o.warmupEpochs = warmupEpochs }
        if let resize { o.resize = resize }
        if let seed { o.seed = seed }
        if let limit { o.limit = limit }
        if let data { o.dataDirectory = data }
        if let checkpointEvery { o.checkpointEvery = checkpointEvery }
        if let logEvery { o.logEvery = logEvery }
    }

    static func timestamp() -> String {
        let f = DateFormatter()
        f.dateFormat = "yyyyMMdd-HHmmss"
        f.timeZone = TimeZone(identifier: "UTC")
        return f.string(from: Date())
    }
}

/// The graph of a compilation, or its diagnostics printed and a failure.
func compile(_ c: Compilation) throws -> Graph {
    if !c.diagnostics.isEmpty { printError(c.renderDiagnostics()) }
    guard let g = c.graph, c.succeeded else { throw ExitCode(1) }
    return g
}
