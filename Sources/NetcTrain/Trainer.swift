import Foundation
import NetcIR
import NetcRuntime
import NetcSpec

/// What a finished (or stopped) run reports.
public struct TrainingResult: Sendable {
    /// One entry per epoch of the run so far (test accuracy included), resumed or not.
    public var epochs: [EpochMetrics]
    public var stoppedByInterrupt: Bool
    public var state: TrainingState
    /// The exit status for a run stopped by a signal: 130 after Ctrl-C, 143 after SIGTERM.
    public var interruptExitStatus: Int32 { stoppedByInterrupt ? Interrupt.exitStatus : 0 }
}

/// Trains a graph on an IDX dataset with minibatch SGD, logging, evaluating and checkpointing
/// into a run directory as it goes.
///
/// Reproducible: the seed fixes the initial weights and each epoch's shuffle (a stream of its
/// own for each seed and epoch), and a resumed run skips the steps its checkpoint already took, so it
/// ends with the same weights as a run that never stopped.
public final class Trainer {
    public let graph: Graph
    public let specText: String
    /// The run's recipe; `normalize: computed` becomes the measured values when the run starts.
    public private(set) var options: TrainingOptions
    public let runDirectory: String
    public let store: ParameterStore
    /// The recipe's optimizer, owning its state.
    public let optimizer: Optimizer
    let interpreter: Interpreter
    var state = TrainingState()
    var history: [EpochMetrics] = []
    /// The state of the last checkpoint written (or resumed from): the non-finite loss and failed
    /// write messages name its step, and a failed write cuts metrics.jsonl back to its length.
    var lastCheckpoint: TrainingState?
    /// Each override a resume applied (`--lr 0.01 -> 0.05`), recorded in metrics.jsonl when the
    /// run continues.
    let changes: [String]
    /// Whether to print progress on standard output (metrics.jsonl is written either way).
    public var progressEnabled = true
    /// The ranks training together: each takes its share of every batch, their gradients are
    /// summed before each step, and rank 0 alone writes the run directory.
    public let communicator: Communicator
    /// With several ranks, batch norm takes its statistics over the whole batch (all ranks'
    /// shares, summed over them in each forward and backward), so that the ranks compute the
    /// function one process would; off, each rank's share has its own, as DDP's default.
    public var synchronizeBatchNorm = false
    /// With several ranks, gradients are summed in buckets of this many bytes, each started as
    /// soon as backward completes it; 0: one sum after backward.
    public var gradientBucketBytes = 4 << 20
    /// Stop after this global step as Ctrl-C would (checkpoint, then return): for tests of resuming.
    public var stopAfterStep: Int?
    /// Tests: stop during the next evaluation, as Ctrl-C there does.
    var stopDuringEvaluation = false
    /// Stop after this global step's writes without a checkpoint, as SIGKILL would, by throwing
    /// `SimulatedKill`: for tests.
    var killAfterStep: Int?
    struct SimulatedKill: Error {}
    /// Called before each write to the run directory with the file's name; what it throws stands
    /// for that write failing (a full disk): for tests.
    var beforeWrite: ((String) throws -> Void)?

    public var checkpointPath: String { file(RunDirectory.checkpointName) }
    public var metricsPath: String { file(RunDirectory.metricsName) }
    func file(_ name: String) -> String { (runDirectory as NSString).appendingPathComponent(name) }

    /// A new run, initialised from the seed, or one that continues `resume` (with its `options`).
    public init(graph: Graph, specText: String, options: TrainingOptions, runDirectory: String,
                resume: Resumption? = nil, communicator: Communicator = .world) throws {
        self.communicator = communicator
        try options.checkRanges()
        try ClassLabels.requireClassifier(graph)
        // A resumed run keeps its batch and image size: only a new run can change them.
        try MemoryBudget.check(graph, batch: options.batch, training: true, advice: resume == nil
            ? .flags(batch: "--batch", resize: "--resize")
            : MemoryAdvice(batch: { "start a new run with --batch \($0)" }, smallerImages: "start a new run with smaller images (--resize)"))
        self.graph = graph
        self.specText = specText
        // The size the run trains at, in its checkpoints: `--resume --resize` compares with it.
        var options = options
        if options.resize == nil, graph.inputShape.height == graph.inputShape.width { options.resize = graph.inputShape.height }
        self.options = options
        self.runDirectory = runDirectory
        changes = resume?.changes ?? []
        store = ParameterStore(graph: graph)
        interpreter = Interpreter(graph: graph, store: store, batchSize: options.batch)
        optimizer = makeOptimizer(options.recipe, for: store)
        if let resume {
            try Checkpoint.load(resume.checkpoint, into: store, optimizer: optimizer, source: "the checkpoint")
            state = resume.state
            lastCheckpoint = resume.state
        } else {
            guard let scheme = InitScheme(rawValue: options.initializer.rawValue) else {
                throw TrainingError("unknown initialisation '\(options.initializer.rawValue)'", help: "use xavier or kaiming")
            }
            store.initialize(scheme, seed: UInt64(options.seed), graph: graph)
        }
    }

    /// Starts from trained weights instead of an initialisation (fine-tuning): a netc checkpoint,
    /// whose spec must describe this network, or a plain safetensors state_dict read by name
    /// (PyTorch's names where the spec gives `pytorch_names`). The file's optimizer state is not
    /// read: the run's optimizer starts afresh. Returns a warning to show, if any.
    public func startFrom(weights path: String, given: Compilation) throws -> String? {
        var contents = try Checkpoint.read(path)
        let warning = try CheckpointSpecAgreement.check(graph, given: given, checkpoint: contents, weights: path)
        if contents.spec == nil, let naming = given.pytorchNames {
            contents.file.tensors = try Checkpoint.netcNames(contents.file.tensors, store: store, naming: naming)
        }
        try Checkpoint.load(contents, into: store, source: path)
        return warning
    }

    /// Runs the remaining epochs. Throws on a non-finite loss (after saying where it appeared)
    /// and on data or file errors; Ctrl-C saves a checkpoint and returns.
    public func run() throws -> TrainingResult {
        // From the start, so that Ctrl-C while the data load still ends with a checkpoint (after
        // the first step) rather than a run directory with nothing to resume.
        Interrupt.install()
        defer { Interrupt.uninstall() }
        if !communicator.isLeader { progressEnabled = false }
        let dataDirectory = try options.resolvedDataDirectory()
        let train = try DatasetFormats.load(dataDirectory, split: .train, for: graph)
        let test = try DatasetFormats.load(dataDirectory, split: .test, for: graph)
        if progressEnabled, let warning = ClassLabels.unusedClasses(train, graph: graph, source: "the training set in \(dataDirectory)") {
            FileHandle.standardError.write(Data("warning: \(warning)\n".utf8))
        }
        let size = graph.inputShape.height
        guard graph.inputShape.width == size, (options.resize ?? size) == size else {
            throw TrainingError("the network takes \(graph.inputShape.height)x\(graph.inputShape.width) inputs, the data is resized to \(options.resize ?? size)",
                                help: "compile the spec with the input size the recipe resizes to")
        }
        let (mean, std) = try options.normalize?.values(for: train, source: "the training set in \(dataDirectory)") ?? ([], [])
        if !mean.isEmpty { options.normalize = .given(mean: mean.map(Double.init), std: std.map(Double.init)) }
        let trainBatcher = ImageBatcher(dataset: train, resizeTo: size,
                                        transforms: ImageTransforms(augment: options.augment, mean: mean, std: std, seed: options.seed))
        let testBatcher = ImageBatcher(dataset: test, resizeTo: size, transforms: ImageTransforms(augment: nil, mean: mean, std: std, seed: 0))
        let count = min(options.limit ?? train.count, train.count)
        let stepsPerEpoch = (count + options.batch - 1) / options.batch
        let schedule = LearningRateSchedule(options.recipe, stepsPerEpoch: stepsPerEpoch)
        // Rank 0 alone writes the run directory; the other ranks keep no log.
        let log: MetricsLog?
        if communicator.isLeader {
            if lastCheckpoint != nil { try requireLogCoversCheckpoint() }
            log = try MetricsLog(path: metricsPath)
            if lastCheckpoint != nil { try continueLog(log!) }
        } else {
            log = nil
        }
        defer { log?.close() }
        communicator.watch.track(runDirectory: runDirectory, checkpointStep: lastCheckpoint?.step)

        let sampleCount = graph.inputShape.elementCount
        let buckets = communicator.size > 1
            ? GradientBuckets(communicator: communicator, store: store, graph: graph, bucketFloats: gradientBucketBytes / 4) : nil
        interpreter.afterBackward = buckets.map { b in { b.finished($0) } }
        defer { interpreter.afterBackward = nil }
        let statisticsSum: ((UnsafeMutableBufferPointer<Double>) -> Void)? = synchronizeBatchNorm && communicator.size > 1
            ? { [communicator] in communicator.sum($0) } : nil
        let batches = BatchPrefetcher(trainBatcher, batch: options.batch)
        var progress = Progress()

        while state.epoch < options.epochs {
            let order = Self.shuffle(count, seed: options.seed, epoch: state.epoch)
            /// The images of step `k` of this epoch: all ranks' together.
            func batch(_ k: Int) -> ArraySlice<Int> { order[k * options.batch ..< min((k + 1) * options.batch, count)] }
            /// This rank's share of them.
            func indices(_ k: Int) -> ArraySlice<Int> { communicator.share(of: batch(k)) }
            let started = Date(), waitBefore = buckets?.waitSeconds ?? 0
            var seenThisSession = 0
            // A run stopped after an epoch's last step (or during its evaluation) resumes to evaluate it.
            if state.stepInEpoch < stepsPerEpoch { batches.request(indices(state.stepInEpoch), epoch: state.epoch) }
            while state.stepInEpoch < stepsPerEpoch {
                communicator.watch.at(.step(state.step + 1, epoch: state.epoch + 1))
                let n = indices(state.stepInEpoch).count, batchCount = batch(state.stepInEpoch).count
                let (img, lab) = batches.take()
                if state.stepInEpoch + 1 < stepsPerEpoch { batches.request(indices(state.stepInEpoch + 1), epoch: state.epoch) }
                let lr = schedule.rate(at: state.step)
                let batchImages = UnsafeBufferPointer(rebasing: img[0..<n * sampleCount])
                var result = (loss: 0.0, correct: 0)
                buckets?.reset()
                // Every rank must take part in each synchronised statistic: a last batch with fewer
                // images than ranks leaves some without a share, and its batch norms unsynchronised.
                interpreter.batchStatisticsSum = batchCount >= communicator.size ? statisticsSum : nil
                if n > 0 {
                    interpreter.dropoutKey = Self.dropoutKey(seed: options.seed, step: state.step)
                    interpreter.forward(batchImages, batchSize: n, training: true)
                    result = interpreter.loss(labels: UnsafeBufferPointer(rebasing: lab[0..<n]), batchOf: batchCount)
                    guard result.loss.isFinite || communicator.size > 1 else { throw nonFinite(result.loss, images: Array(batchImages), n: n) }
                    interpreter.backward()
                } else {
                    store.allGradients.update(repeating: 0)   // a last batch smaller than the ranks
                }
                let whole = try combineRanks(result, n: n, of: batchCount, images: batchImages, buckets: buckets)
                optimizer.step(learningRate: lr)
                state.step += 1
                state.stepInEpoch += 1
                state.epochLossSum += whole.loss * Double(batchCount)
                state.epochCorrect += whole.correct
                state.epochSeen += batchCount
                seenThisSession += batchCount
                let elapsed = Date().timeIntervalSince(started)
                let rate = Double(seenThisSession) / max(elapsed, 1e-9)
                if progressEnabled {
                    progress.step(epoch: state.epoch, epochs: options.epochs, step: state.stepInEpoch, steps: stepsPerEpoch,
                                  loss: state.epochLossSum / Double(state.epochSeen), accuracy: Double(state.epochCorrect) / Double(state.epochSeen),
                                  imagesPerSecond: rate, secondsLeft: Double((stepsPerEpoch - state.stepInEpoch) * options.batch) / rate,
                                  runSecondsLeft: Double((stepsPerEpoch - state.stepInEpoch + (options.epochs - state.epoch - 1) * stepsPerEpoch)
                                                         * options.batch) / rate,
                                  every: options.logEvery)
                }
                if state.step % options.logEvery == 0 {
                    try append(to: log, ["kind": "step", "epoch": .int(state.epoch + 1), "step": .int(state.step),
                                         "train_loss": .double(whole.loss), "train_acc": .double(Double(whole.correct) / Double(batchCount)),
                                         // To float32's precision, as SGD uses it: 0.01, not 0.009999999776482582.
                                         "lr": .double(Double("\(Float(lr))") ?? lr), "images_per_s": .double(rate)])
                }
                if let every = options.checkpointEvery, state.step % every == 0 { try saveCheckpoint(log) }
                if state.step == killAfterStep { throw SimulatedKill() }
                if whole.stop || state.step == stopAfterStep {
                    try saveCheckpoint(log)
                    if progressEnabled { progress.epochDone("interrupted at step \(state.step): checkpoint saved to \(checkpointPath)") }
                    return TrainingResult(epochs: history, stoppedByInterrupt: true, state: state)
                }
            }
            let seconds = Date().timeIntervalSince(started)
            let data = batches.takeTimes()
            let testCount = min(options.testLimit ?? test.count, test.count)
            communicator.watch.at(.evaluating(epoch: state.epoch + 1))
            let evaluated = evaluate(testBatcher, count: testCount) { done in
                if progressEnabled { progress.evaluating(done, of: testCount) }
            }
            guard let (testLoss, testAccuracy) = evaluated else {
                // Ctrl-C while evaluating: the checkpoint is at the epoch's end, and a resume evaluates it.
                try saveCheckpoint(log)
                if progressEnabled { progress.epochDone("interrupted while evaluating epoch \(state.epoch + 1): checkpoint saved to \(checkpointPath)") }
                return TrainingResult(epochs: history, stoppedByInterrupt: true, state: state)
            }
            let seen = max(state.epochSeen, 1)
            let metrics = EpochMetrics(epoch: state.epoch + 1, trainLoss: state.epochLossSum / Double(seen),
                                       trainAcc: Double(state.epochCorrect) / Double(seen), testAcc: testAccuracy)
            history.append(metrics)
            let rate = Double(seenThisSession) / max(seconds, 1e-9)
            try append(to: log, ["kind": "epoch", "epoch": .int(state.epoch + 1), "step": .int(state.step),
                                 "train_loss": .double(metrics.trainLoss), "train_acc": .double(metrics.trainAcc),
                                 "test_loss": .double(testLoss), "test_acc": .double(testAccuracy),
                                 "seconds": .double(seconds), "images_per_s": .double(rate),
                                 "data_load_s": .double(data.loading), "data_wait_s": .double(data.waiting),
                                 "ranks": .int(communicator.size), "gradient_wait_s": .double((buckets?.waitSeconds ?? 0) - waitBefore)])
            if progressEnabled {
                progress.epochDone(String(format: "epoch %d/%d  train loss %.4f  train acc %.3f  test loss %.4f  test acc %.4f  (%.0f s, %.1f img/s)",
                                          state.epoch + 1, options.epochs, metrics.trainLoss, metrics.trainAcc, testLoss, testAccuracy,
                                          seconds, rate))
            }
            state.epoch += 1
            state.stepInEpoch = 0
            state.epochLossSum = 0
            state.epochCorrect = 0
            state.epochSeen = 0
            try saveCheckpoint(log)
            try writing(RunDirectory.curvesName, log) { _ in try writeCurves() }
        }
        return TrainingResult(epochs: history, stoppedByInterrupt: false, state: state)
    }

    /// Mean loss and accuracy over the dataset's `images` in evaluation mode (running statistics);
    /// nil when `shouldStop` says so between two batches (Ctrl-C during a long evaluation).
    static func evaluate(_ interpreter: Interpreter, _ batcher: ImageBatcher, images range: Range<Int>, batch: Int,
                         shouldStop: () -> Bool = { false }, progress: (Int) -> Void = { _ in }) -> (loss: Double, accuracy: Double)? {
        let sample = batcher.sampleShape.reduce(1, *)
        var images = [Float](repeating: 0, count: batch * sample)
        var labels = [Int32](repeating: 0, count: batch)
        var lossSum = 0.0, correct = 0
        let count = range.count
        for lo in stride(from: range.lowerBound, to: range.upperBound, by: batch) {
            let n = min(batch, range.upperBound - lo)
            images.withUnsafeMutableBufferPointer { img in
                labels.withUnsafeMutableBufferPointer { batcher.fill(indices: lo..<lo + n, images: img, labels: $0) }
            }
            let r = images.withUnsafeBufferPointer { img in
                labels.withUnsafeBufferPointer { lab in
                    interpreter.forward(UnsafeBufferPointer(rebasing: img[0..<n * sample]), batchSize: n, training: false)
                    return interpreter.loss(labels: UnsafeBufferPointer(rebasing: lab[0..<n]))
                }
            }
            lossSum += r.loss * Double(n)
            correct += r.correct
            progress(lo + n - range.lowerBound)
            if lo + n < range.upperBound && shouldStop() { return nil }
        }
        return (lossSum / Double(max(count, 1)), Double(correct) / Double(max(count, 1)))
    }

    /// Saves the state with the metrics written so far (synced first, so the checkpoint never
    /// counts records that a power loss could take away).
    func saveCheckpoint(_ log: MetricsLog?) throws {
        // The loss is computed before each step, so the step that overflows a weight (a huge
        // learning rate) shows only at the next one: a checkpoint written in between held
        // infinities and replaced the last good one.
        for (i, e) in store.entries.enumerated() {
            guard let j = store.value(at: i).firstIndex(where: { !$0.isFinite }) else { continue }
            throw TrainingError("step \(state.step) (epoch \(state.epoch + 1)) made '\(e.name)' non-finite (\(store.value(at: i)[j]) at index \(j)); it is not saved",
                                help: "\(keptCheckpoint); lower the learning rate (--lr) and resume or restart")
        }
        // Rank 0 reports a rank's death only after the write, so the report names what it wrote.
        try communicator.watch.saving(step: state.step) {
            try writing(RunDirectory.checkpointName, log) { log in
                try log.sync()
                state.metricsLength = log.length
                try Checkpoint.save(to: checkpointPath, store: store, optimizer: optimizer, spec: specText, options: options, state: state)
            }
        }
        lastCheckpoint = state
    }

    func append(to log: MetricsLog?, _ fields: KeyValuePairs<String, MetricValue>) throws {
        try writing(RunDirectory.metricsName, log) { try $0.append(fields) }
    }

    /// Runs one write to the run directory. The first that fails stops the run: the log is cut
    /// back to the last checkpoint, so the directory stays as that checkpoint left it, and the
    /// error says what failed and how to continue. Without a log (a rank other than 0), nothing is written.
    func writing(_ name: String, _ log: MetricsLog?, _ write: (MetricsLog) throws -> Void) throws {
        guard let log else { return }
        do {
            try beforeWrite?(name)
            try write(log)
        } catch {
            var kept = keptCheckpoint
            if let length = lastCheckpoint?.metricsLength, (try? log.truncate(to: length)) != nil {
                kept += " and \(RunDirectory.metricsName) is cut back to it"
            }
            // The end-of-epoch checkpoint is written after the epoch count moves on.
            let epoch = state.stepInEpoch == 0 && state.epoch > 0 ? "end of epoch \(state.epoch)" : "epoch \(state.epoch + 1)"
            throw TrainingError("cannot write \(name) at step \(state.step) (\(epoch)): \(error)",
                                help: "training stopped at the first failed write; \(kept); free some space or fix the cause, then "
                                    + (lastCheckpoint == nil ? "start again" : "continue with --resume \(runDirectory)"))
        }
    }

    /// What an error that stops the run says the run directory still holds.
    var keptCheckpoint: String {
        lastCheckpoint.map { "the last good checkpoint, \(checkpointPath) (step \($0.step)), is kept" } ?? "no checkpoint was written yet"
    }

    /// Continues a resumed run's log: cuts off what was written after the checkpoint (a kill
    /// leaves such lines, which the resumed run writes again), reads back the finished epochs
    /// for the curves, and records the resume's overrides.
    func continueLog(_ log: MetricsLog) throws {
        if let length = state.metricsLength, log.length > length { try log.truncate(to: length) }
        history = try Self.epochMetrics(inLog: metricsPath)
        if !changes.isEmpty {
            try append(to: log, ["kind": "resume", "step": .int(state.step), "changes": .string(changes.joined(separator: ", "))])
        }
    }

    /// Refuses, before touching it, a resumed run's log that lacks records its checkpoint counted.
    /// An empty or missing log (moved aside) is fine: the run continues with a new one.
    func requireLogCoversCheckpoint() throws {
        var st = stat()
        guard let length = state.metricsLength, stat(metricsPath, &st) == 0, st.st_size > 0, st.st_size < length else { return }
        throw TrainingError("\(metricsPath) holds \(st.st_size) bytes, fewer than the \(length) the checkpoint at step \(state.step) counted: it was cut or edited",
                            help: "restore it, or move it aside to continue with a new metrics log")
    }

    /// The epoch records of a metrics log, for the curves. A record that cannot be read is an
    /// error naming its line, never a gap or a NaN in the curves; only the last line may be cut
    /// short (by a crash mid-write, and MetricsLog starts the next record on a new line).
    static func epochMetrics(inLog path: String) throws -> [EpochMetrics] {
        let lines = String(decoding: try BinaryFile.read(path), as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false)
        let last = lines.lastIndex { !$0.isEmpty }
        var epochs: [EpochMetrics] = []
        for (i, line) in lines.enumerated() where !line.isEmpty {
            func damaged(_ what: String) -> TrainingError {
                TrainingError("\(path):\(i + 1): \(what)",
                              help: "the file was edited or damaged; restore it, or move it aside to continue with a new metrics log")
            }
            let record: JSONValue
            do {
                record = try JSON.parse(Array(line.utf8))
            } catch {
                if i == last { break }
                throw damaged("not a metrics record: \(error)")
            }
            guard record["kind"]?.stringValue == "epoch" else { continue }
            guard let epoch = record["epoch"]?.intValue, let trainLoss = record["train_loss"]?.doubleValue,
                  let trainAcc = record["train_acc"]?.doubleValue, let testAcc = record["test_acc"]?.doubleValue else {
                throw damaged("an epoch record needs the numbers 'epoch', 'train_loss', 'train_acc' and 'test_acc'")
            }
            epochs.append(EpochMetrics(epoch: epoch, trainLoss: trainLoss, trainAcc: trainAcc, testAcc: testAcc))
        }
        return epochs
    }

    func writeCurves() throws {
        // From the log, with points within each epoch; from the epochs alone if it cannot be read.
        let curves = try? RunCurves(runDirectory: runDirectory, name: graph.name)
        let svg = curves.map { RunCurves.svg([$0], title: graph.name) } ?? TrainingCurves.svg(epochs: history, title: graph.name)
        try BinaryFile.writeAtomically(file(RunDirectory.curvesName), bytes: Array(svg.utf8))
    }

    /// The error for a non-finite loss: which step, and the first layer whose output went non-finite.
    func nonFinite(_ loss: Double, images: [Float], n: Int, rank: Int? = nil) -> TrainingError {
        let culprit = images.withUnsafeBufferPointer {
            interpreter.locateNonFinite(input: UnsafeBufferPointer(rebasing: $0[0..<n * graph.inputShape.elementCount]),
                                        batchSize: n, training: true)
        }
        let where_ = culprit.map { "; first, \($0)" } ?? ""
        return TrainingError("the loss became \(loss.isNaN ? "NaN" : loss > 0 ? "+infinity" : "-infinity") at step \(state.step + 1) (epoch \(state.epoch + 1))\(rank.map { " on rank \($0) of \(communicator.size)" } ?? "")\(where_)",
                             help: "\(keptCheckpoint); lower the learning rate (--lr) and resume or restart")
    }

    /// Epoch `epoch`'s permutation of `0..<count` for a run seeded `seed` (Fisher-Yates with
    /// SplitMix64).
    ///
    /// Seed and epoch are hashed apart before they start a stream: seeding with `seed + epoch`
    /// made epoch 1 of seed 0 replay epoch 0 of seed 1, so runs "over seeds 0, 1, 2" shared data
    /// orders instead of being independent draws.
    /// The key of step `step`'s dropout masks: the seed and the step hashed apart, as the shuffle's
    /// seed and epoch are.
    static func dropoutKey(seed: Int, step: Int) -> UInt64 {
        func hash(_ value: Int) -> UInt64 { var mixer = SplitMix64(seed: UInt64(bitPattern: Int64(value))); return mixer.next() }
        return hash(seed) ^ hash(~step) &* 3
    }

    static func shuffle(_ count: Int, seed: Int, epoch: Int) -> [Int] {
        func hash(_ value: Int) -> UInt64 { var mixer = SplitMix64(seed: UInt64(bitPattern: Int64(value))); return mixer.next() }
        var rng = SplitMix64(seed: hash(seed) ^ hash(~epoch))
        var order = Array(0..<count)
        for i in stride(from: count - 1, to: 0, by: -1) {
            order.swapAt(i, Int(rng.next() % UInt64(i + 1)))
        }
        return order
    }
}
