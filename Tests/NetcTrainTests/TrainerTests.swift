import Foundation
import NetcIR
import NetcRuntime
import NetcSpec
import Testing
@testable import NetcTrain

/// Training end to end on a small synthetic IDX dataset: checkpoints round-trip exactly, a resumed
/// run equals one that never stopped, and a diverging loss is reported with its step and layer.
@Suite struct TrainerTests {
    static let spec = """
        netc: 1
        name: tiny
        input: {channels: 1, size: 8}
        classes: 10
        stem: [{conv: {out: 4, kernel: 3, pad: 1}}, batchnorm, relu]
        stages:
          - {block: residual, depth: 1, channels: 4}
          - {block: resnext, depth: 1, channels: 8, stride: 2, bot_mul: 1, groups: 2}
        head: [global_avgpool, flatten, {linear: {out: $classes}}]
        """

    static func graph() throws -> Graph {
        try #require(Compiler.compile(source: spec, file: "tiny.yaml").graph)
    }

    /// 96 training and 40 test images of 8x8 whose class is their brightness, with noise.
    static func writeDataset(_ dir: String) throws {
        var rng = SplitMix64(seed: 7)
        for (split, count) in [("train", 96), ("t10k", 40)] {
            var pixels: [UInt8] = [], labels: [UInt8] = []
            for i in 0..<count {
                let label = UInt8(i % 10)
                labels.append(label)
                for _ in 0..<64 { pixels.append(UInt8(Int(label) * 22 + Int(rng.next() % 30))) }
            }
            try writeBytes(Gzip.compress(IDX.encode(dims: [count, 8, 8], bytes: pixels)), "\(dir)/\(split)-images-idx3-ubyte.gz")
            try writeBytes(Gzip.compress(IDX.encode(dims: [count], bytes: labels)), "\(dir)/\(split)-labels-idx1-ubyte.gz")
        }
    }

    static func options(_ data: String, epochs: Int = 4) -> TrainingOptions {
        var o = TrainingOptions()
        o.dataDirectory = data
        o.resize = nil
        o.batch = 16
        o.epochs = epochs
        o.lr = 0.05
        o.momentum = 0.9
        o.weightDecay = 1e-4
        o.schedule = .cosine
        o.warmupEpochs = 1
        o.logEvery = 2
        return o
    }

    func trainer(_ dir: String, _ options: TrainingOptions, resume: Resumption? = nil) throws -> Trainer {
        let t = try Trainer(graph: try Self.graph(), specText: Self.spec, options: options, runDirectory: dir, resume: resume)
        t.progressEnabled = false
        return t
    }

    /// A resumed trainer for `dir` from `checkpoint` (read from dir's checkpoint), without overrides.
    func trainer(_ dir: String, resuming checkpoint: Checkpoint.Contents) throws -> Trainer {
        let resumption = try Resumption(checkpoint: checkpoint, from: "\(dir)/checkpoint.safetensors", overrides: TrainingOverrides())
        return try trainer(dir, resumption.options, resume: resumption)
    }

    /// How the first part of a resumed run ends: Ctrl-C (a checkpoint at that step) or SIGKILL
    /// (no checkpoint, metric lines past the last one, and a record cut off mid-write).
    enum Stop: String, CaseIterable { case interrupt, kill }

    @Test(arguments: Stop.allCases)
    func resumedRunEqualsUninterruptedRun(_ stop: Stop) throws {
        let data = try makeTempDir(), a = try makeTempDir(), b = try makeTempDir()
        defer { for d in [data, a, b] { try? FileManager.default.removeItem(atPath: d) } }
        try Self.writeDataset(data)
        var options = Self.options(data)
        options.checkpointEvery = 4

        let straight = try trainer(a, options)
        let result = try straight.run()
        #expect([result.state.step, result.state.epoch, result.state.stepInEpoch] == [24, 4, 0] as [Int])

        // Stop mid-epoch (step 10 of 24, in the second epoch), then resume from the checkpoint.
        let first = try trainer(b, options)
        switch stop {
        case .interrupt:
            first.stopAfterStep = 10
            #expect(try first.run().stoppedByInterrupt)
        case .kill:
            first.killAfterStep = 10
            #expect(throws: Trainer.SimulatedKill.self) { try first.run() }
        }
        if stop == .kill { try appendBytes(Array(#"{"kind":"st"#.utf8), "\(b)/metrics.jsonl") }
        let saved = try Checkpoint.read(first.checkpointPath)
        let at: [Int] = stop == .interrupt ? [10, 1, 4] : [8, 1, 2]
        let position = try #require(saved.position)
        #expect([position.step, position.epoch, position.stepInEpoch] == at)
        let resumed = try trainer(b, resuming: saved)
        let resumedResult = try resumed.run()

        #expect(resumed.store.snapshot() == straight.store.snapshot(), "weights and BN statistics identical")
        #expect(resumed.optimizer.steps == straight.optimizer.steps)
        for (i, e) in resumed.store.entries.enumerated() where e.role == .trainable {
            #expect(Array(resumed.optimizer.state("momentum_buffer", entry: i)) == Array(straight.optimizer.state("momentum_buffer", entry: i)))
        }
        let expected = try Self.metricLines(a), got = try Self.metricLines(b)
        #expect(got == expected, "the resumed run's metrics equal the uninterrupted run's, line by line")
        #expect(expected.count == 12 + 4, "a line every 2 of 24 steps and one per epoch")
        // Step and epoch lines name the training figures alike; the rate is written as the float32 it is.
        let firstStep = try #require(expected.first { $0.contains(#""kind":"step""#) })
        #expect(firstStep.contains(#""train_loss":"#) && firstStep.contains(#""train_acc":"#) && !firstStep.contains(#""loss":"#))
        let rate = try #require(firstStep.components(separatedBy: #""lr":"#).last?.prefix { $0 != "," && $0 != "}" })
        #expect(rate.count <= 12, "lr \(rate) is written with float32's digits, not double's")
        #expect(resumedResult.epochs == result.epochs, "the curves cover every epoch, not just the resumed ones")
        #expect(FileManager.default.fileExists(atPath: "\(a)/curves.svg"))
        #expect((result.epochs.last?.testAcc ?? 0) > 0.3, "brightness is learnable")
    }

    /// metrics.jsonl's lines without their timing fields, which no two runs share.
    static func metricLines(_ dir: String) throws -> [String] {
        let timing = try Regex(#",\"(seconds|images_per_s|data_load_s|data_wait_s)\":[^,}]*"#)
        return try String(contentsOfFile: "\(dir)/metrics.jsonl", encoding: .utf8).split(separator: "\n").map { line in
            String(line.replacing(timing, with: ""))
        }
    }

    /// A full disk: the first failed write (a checkpoint, a metrics line, the curves) stops the
    /// run, says what failed, and leaves the directory as its last good checkpoint left it,
    /// metrics.jsonl included, so a resume after freeing space ends as a run that never failed.
    /// The disk fills after step 8 (checkpoints every 4 steps and at each epoch's end, 6 steps an epoch).
    @Test(arguments: [
        ("checkpoint.safetensors", "step 12 (epoch 2)", 8, 5),
        ("metrics.jsonl", "step 10 (epoch 2)", 8, 5),
        ("curves.svg", "step 12 (end of epoch 2)", 12, 8),
    ])
    func firstFailedWriteStopsTheRun(_ failing: String, _ when: String, _ kept: Int, _ keptLines: Int) throws {
        let data = try makeTempDir(), a = try makeTempDir(), b = try makeTempDir()
        defer { for d in [data, a, b] { try? FileManager.default.removeItem(atPath: d) } }
        try Self.writeDataset(data)
        var options = Self.options(data, epochs: 2)
        options.checkpointEvery = 4
        let straight = try trainer(a, options)
        _ = try straight.run()

        let t = try trainer(b, options)
        t.beforeWrite = { name in
            if name == failing, t.state.step > 8 {
                throw DataFileError(source: "\(b)/\(name)", message: "write failed: No space left on device")
            }
        }
        let error = #expect(throws: TrainingError.self) { try t.run() }
        #expect(error?.description == """
            cannot write \(failing) at \(when): \(b)/\(failing): write failed: No space left on device
            help: training stopped at the first failed write; the last good checkpoint, \(b)/checkpoint.safetensors (step \(kept)), \
            is kept and metrics.jsonl is cut back to it; free some space or fix the cause, then continue with --resume \(b)
            """)
        let saved = try Checkpoint.read(t.checkpointPath)
        #expect(saved.position?.step == kept)
        let straightLines = try Self.metricLines(a)
        #expect(try Self.metricLines(b) == Array(straightLines.prefix(keptLines)), "nothing after the checkpoint")

        let resumed = try trainer(b, resuming: saved)
        _ = try resumed.run()
        #expect(try Self.metricLines(b) == straightLines)
        #expect(resumed.store.snapshot() == straight.store.snapshot())
    }

    /// A resume cuts the log back only to a length it knows: a shorter log is an error, and a
    /// checkpoint that counts nothing (`netc step`'s) cuts nothing.
    @Test func resumeNeverCutsALogItCannotAccountFor() throws {
        let data = try makeTempDir(), dir = try makeTempDir()
        defer { for d in [data, dir] { try? FileManager.default.removeItem(atPath: d) } }
        try Self.writeDataset(data)
        let first = try trainer(dir, Self.options(data))
        first.stopAfterStep = 4
        _ = try first.run()
        var saved = try Checkpoint.read(first.checkpointPath)
        let counted = try #require(saved.position?.metricsLength)
        try writeBytes(Array(try BinaryFile.read(first.metricsPath).prefix(10)), first.metricsPath)
        let error = #expect(throws: TrainingError.self) { try trainer(dir, resuming: saved).run() }
        #expect(error?.description == """
            \(dir)/metrics.jsonl holds 10 bytes, fewer than the \(counted) the checkpoint at step 4 counted: it was cut or edited
            help: restore it, or move it aside to continue with a new metrics log
            """)

        saved.position?.metricsLength = nil
        let resumed = try trainer(dir, resuming: saved)
        resumed.stopAfterStep = 5
        _ = try resumed.run()
        #expect(try BinaryFile.read(first.metricsPath).prefix(10).elementsEqual(#"{"kind":"s"#.utf8), "the 10 bytes stay")
    }

    @Test func resumeRecordsItsOverridesAndUsesThem() throws {
        let data = try makeTempDir(), dir = try makeTempDir()
        defer { for d in [data, dir] { try? FileManager.default.removeItem(atPath: d) } }
        try Self.writeDataset(data)
        let first = try trainer(dir, Self.options(data, epochs: 1))
        _ = try first.run()
        var overrides = TrainingOverrides()
        (overrides.epochs, overrides.lr, overrides.checkpointEvery) = (2, 0.02, 3)
        let resumption = try Resumption(checkpoint: Checkpoint.read(first.checkpointPath), from: first.checkpointPath, overrides: overrides)
        #expect(resumption.startMessage(name: "tiny")
                == "resuming tiny at epoch 2 of 2, step 6 with --epochs 1 -> 2, --lr 0.05 -> 0.02, --checkpoint-every (epoch ends only) -> 3")
        let resumed = try trainer(dir, resumption.options, resume: resumption)
        resumed.stopAfterStep = 8
        _ = try resumed.run()
        let lines = try Self.metricLines(dir)
        #expect(lines[4] == #"{"kind":"resume","step":6,"changes":"--epochs 1 -> 2, --lr 0.05 -> 0.02, --checkpoint-every (epoch ends only) -> 3"}"#)
        #expect(lines[5].hasPrefix(#"{"kind":"step","epoch":2,"step":8,"#))
        let saved = try Checkpoint.read(resumed.checkpointPath)
        #expect(saved.options?.lr == 0.02 && saved.options?.epochs == 2 && saved.options?.checkpointEvery == 3)
        #expect(saved.position?.step == 8)
    }

    /// A damaged record in the log a resume reads back is an error with its line, not a gap or a
    /// NaN in the curves; a last line cut short by a crash is not an error.
    @Test func aDamagedEpochRecordIsAnErrorWithItsLine() throws {
        let dir = try makeTempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = "\(dir)/metrics.jsonl"
        let epoch1 = #"{"kind":"epoch","epoch":1,"step":6,"train_loss":2.1,"train_acc":0.2,"test_acc":0.25}"#
        let step = #"{"kind":"step","epoch":2,"step":8,"loss":1.9}"#
        try writeBytes(Array("\(epoch1)\n\(step)\n{\"kind\":\"ep".utf8), path)
        #expect(try Trainer.epochMetrics(inLog: path) == [EpochMetrics(epoch: 1, trainLoss: 2.1, trainAcc: 0.2, testAcc: 0.25)])

        let help = "help: the file was edited or damaged; restore it, or move it aside to continue with a new metrics log"
        try writeBytes(Array("\(epoch1)\n{\"kind\":\"ep\n\(step)\n".utf8), path)
        let torn = #expect(throws: TrainingError.self) { try Trainer.epochMetrics(inLog: path) }
        #expect(torn?.description == "\(path):2: not a metrics record: invalid JSON at byte 11: unterminated string\n\(help)")
        try writeBytes(Array("\(step)\n\(epoch1.replacingOccurrences(of: #""train_acc":0.2,"#, with: ""))\n".utf8), path)
        let incomplete = #expect(throws: TrainingError.self) { try Trainer.epochMetrics(inLog: path) }
        #expect(incomplete?.description
                == "\(path):2: an epoch record needs the numbers 'epoch', 'train_loss', 'train_acc' and 'test_acc'\n\(help)")
    }

    /// Each optimizer's state, its step count and every weight come back bit for bit.
    @Test(arguments: TrainSpec.Optimizer.allCases)
    func checkpointRoundTripsExactly(_ kind: TrainSpec.Optimizer) throws {
        let dir = try makeTempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let g = try Self.graph()
        let store = ParameterStore(graph: g)
        store.initialize(.kaiming, seed: 3, graph: g)
        var recipe = TrainSpec.defaults(for: kind)
        recipe.momentum = 0.9
        let optimizer = makeOptimizer(recipe, for: store)
        for (i, e) in store.entries.enumerated() where e.role == .trainable {
            for (k, slot) in optimizer.slots.enumerated() {
                let s = optimizer.state(slot, entry: i)
                for j in s.indices { s[j] = Float(j) * 0.5 + Float(k) }
            }
        }
        optimizer.restore(steps: 4)
        let path = "\(dir)/c.safetensors"
        var state = TrainingState(step: 17, epoch: 3, stepInEpoch: 2)
        (state.epochLossSum, state.epochCorrect, state.epochSeen, state.metricsLength) = (0.1 + 0.2, 11, 32, 1234)
        try Checkpoint.save(to: path, store: store, optimizer: optimizer, spec: Self.spec, options: TrainingOptions(), state: state)

        let contents = try Checkpoint.read(path)
        #expect(contents.spec == Self.spec && contents.position == state && contents.options == TrainingOptions())
        #expect(contents.file.tensors["stem.bn1.num_batches_tracked"]?.dtype == .I64)
        let copy = ParameterStore(graph: g), copiedOptimizer = makeOptimizer(recipe, for: copy)
        try Checkpoint.load(contents, into: copy, optimizer: copiedOptimizer, source: path)
        #expect(copy.snapshot() == store.snapshot())
        #expect(copiedOptimizer.steps == 4 && !optimizer.slots.isEmpty)
        for (i, e) in store.entries.enumerated() where e.role == .trainable {
            for slot in optimizer.slots { #expect(Array(copiedOptimizer.state(slot, entry: i)) == Array(optimizer.state(slot, entry: i))) }
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir) == ["c.safetensors"], "no temp file left")
    }

    @Test func divergingLossNamesTheStepAndLayer() throws {
        let data = try makeTempDir(), dir = try makeTempDir()
        defer { for d in [data, dir] { try? FileManager.default.removeItem(atPath: d) } }
        try Self.writeDataset(data)
        var o = Self.options(data)
        o.lr = 1e30
        o.warmupEpochs = 0
        o.schedule = .constant
        o.checkpointEvery = 1
        let t = try trainer(dir, o)
        do {
            _ = try t.run()
            Issue.record("expected the run to stop")
        } catch let e as TrainingError {
            #expect(e.message.hasPrefix("the loss became NaN at step 2 (epoch 1); first, "), "\(e.message)")
            #expect(e.help?.contains("(step 1), is kept") == true, "\(e.help ?? "")")
        }
        #expect(try Checkpoint.read(t.checkpointPath).position?.step == 1, "the last good checkpoint stays")
    }

    /// A step that overflows the weights shows in the loss only one step later; the checkpoint
    /// written in between held infinities over the last good one.
    @Test func aCheckpointOfNonFiniteWeightsIsNeverWritten() throws {
        let data = try makeTempDir(), dir = try makeTempDir()
        defer { for d in [data, dir] { try? FileManager.default.removeItem(atPath: d) } }
        try Self.writeDataset(data)
        var o = Self.options(data)
        o.lr = 3e38
        o.weightDecay = 1e30
        o.momentum = 0
        o.warmupEpochs = 0
        o.schedule = .constant
        o.checkpointEvery = 1
        let t = try trainer(dir, o)
        do {
            _ = try t.run()
            Issue.record("expected the run to stop")
        } catch let e as TrainingError {
            #expect(e.message.hasPrefix("step 1 (epoch 1) made '"), "\(e.message)")
            #expect(e.help == "no checkpoint was written yet; lower the learning rate (--lr) and resume or restart")
        }
        #expect(!FileManager.default.fileExists(atPath: t.checkpointPath))
    }

    @Test func missingDatasetSaysHowToInstall() throws {
        var o = TrainingOptions()
        o.dataset = "imagenet"
        #expect(throws: TrainingError.self) { try o.resolvedDataDirectory() }
    }

    @Test func schedules() {
        var o = TrainingOptions()
        o.lr = 0.1
        o.epochs = 4
        o.warmupEpochs = 1
        o.schedule = .cosine
        let cosine = LearningRateSchedule(o.recipe, stepsPerEpoch: 10)
        #expect(cosine.rate(at: 0) == 0.1 / 10, "warmup starts at lr / warmup steps")
        #expect(cosine.rate(at: 9) == 0.1)
        #expect(abs(cosine.rate(at: 25) - 0.05) < 1e-12, "halfway through the cosine")
        o.schedule = .step(every: 2, gamma: 0.5)
        o.warmupEpochs = 0
        let step = LearningRateSchedule(o.recipe, stepsPerEpoch: 10)
        #expect([0, 19, 20, 39, 40].map(step.rate) == [0.1, 0.1, 0.05, 0.05, 0.025])
    }
}

/// A spec's declared input size is the size it trains at when its recipe names none: the
/// chapter's 96x96 is the chapter's specs' own declaration, not a default imposed on every spec.
@Test func aSpecTrainsAtItsDeclaredSizeWhenTheRecipeIsSilent() throws {
    let spec = TrainerTests.spec.replacingOccurrences(of: "size: 8", with: "size: 12")
    let compilation = Compiler.compile(source: spec, file: "tiny12.yaml")
    let graph = try #require(compilation.graph)
    var options = TrainingOptions(spec: compilation.spec?.train)
    #expect(options.resize == nil)
    let data = try makeTempDir(), run = try makeTempDir()
    defer { for d in [data, run] { try? FileManager.default.removeItem(atPath: d) } }
    try TrainerTests.writeDataset(data)
    options.dataDirectory = data
    options.epochs = 1
    options.batch = 32
    let trainer = try Trainer(graph: graph, specText: spec, options: options, runDirectory: run)
    trainer.progressEnabled = false
    let result = try trainer.run()
    #expect(graph.inputShape.height == 12 && result.epochs.count == 1 && result.epochs[0].testAcc.isFinite)
}

/// Stopping at an epoch's end, after its last (partial) batch or while evaluating it, saves a
/// checkpoint there; the resumed run evaluates that epoch and goes on exactly as one that never stopped.
@Suite struct EpochEndStopTests {
    enum Where: String, CaseIterable { case afterLastStep, duringEvaluation }

    @Test(arguments: Where.allCases)
    func aRunStoppedAtAnEpochsEndResumesExactly(_ stopAt: Where) throws {
        let data = try makeTempDir(), a = try makeTempDir(), b = try makeTempDir()
        defer { for d in [data, a, b] { try? FileManager.default.removeItem(atPath: d) } }
        try TrainerTests.writeDataset(data)
        var options = TrainerTests.options(data, epochs: 2)
        options.limit = 90   // 6 steps of 16, the last one of 10 images
        func trainer(_ dir: String, _ o: TrainingOptions, resume: Resumption? = nil) throws -> Trainer {
            let t = try Trainer(graph: try TrainerTests.graph(), specText: TrainerTests.spec, options: o, runDirectory: dir, resume: resume)
            t.progressEnabled = false
            return t
        }
        let straight = try trainer(a, options)
        _ = try straight.run()

        let first = try trainer(b, options)
        switch stopAt {
        case .afterLastStep: first.stopAfterStep = 6
        case .duringEvaluation: first.stopDuringEvaluation = true
        }
        let stopped = try first.run()
        #expect(stopped.stoppedByInterrupt && stopped.epochs.isEmpty)
        let saved = try Checkpoint.read("\(b)/checkpoint.safetensors")
        #expect(saved.position.map { [$0.step, $0.epoch, $0.stepInEpoch] } == [6, 0, 6])
        let resumption = try Resumption(checkpoint: saved, from: "\(b)/checkpoint.safetensors", overrides: TrainingOverrides())
        let resumed = try trainer(b, resumption.options, resume: resumption)
        let result = try resumed.run()
        #expect(result.state.step == 12 && result.epochs.count == 2)
        #expect(resumed.store.snapshot() == straight.store.snapshot())
        #expect(try TrainerTests.metricLines(b) == TrainerTests.metricLines(a))
    }
}

/// `--test-limit`: evaluation reads only the first N test images (an accuracy in sevenths here),
/// and a resumed run may change it.
@Test func testLimitEvaluatesTheFirstImagesOnly() throws {
    let data = try makeTempDir(), dir = try makeTempDir()
    defer { for d in [data, dir] { try? FileManager.default.removeItem(atPath: d) } }
    try TrainerTests.writeDataset(data)
    var options = TrainerTests.options(data, epochs: 1)
    options.testLimit = 7
    let t = try Trainer(graph: try TrainerTests.graph(), specText: TrainerTests.spec, options: options, runDirectory: dir)
    t.progressEnabled = false
    let accuracy = try #require(try t.run().epochs.first?.testAcc)
    #expect(abs(accuracy * 7 - (accuracy * 7).rounded()) < 1e-9)
    var overrides = TrainingOverrides()
    overrides.testLimit = 20
    let changed = try overrides.appliedOnResume(to: options)
    #expect(changed.options.testLimit == 20 && changed.changes == ["--test-limit 7 images -> 20 images"])
}
