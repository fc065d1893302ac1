import Foundation
import Testing
@testable import NetcTrain

/// Data-parallel training over MPI: the ranks split every batch between them and end with the
/// weights one process reaches on the same batches and seed.
@Suite struct DataParallelTests {
    @Test func sharesSplitABatchInOrder() {
        let batch = Array(100..<110)
        for size in 1...4 {
            let shares = (0..<size).map { Communicator.share(of: batch[...], rank: $0, size: size) }
            #expect(shares.flatMap { $0 } == batch, "disjoint, in order, together the batch")
            #expect(shares.map(\.count).max()! - shares.map(\.count).min()! <= 1)
        }
        // More ranks than images: some shares are empty (a small last batch).
        #expect((0..<4).map { Communicator.share(of: 0..<2, rank: $0, size: 4).count } == [1, 1, 0, 0])
    }

    /// A network without batch norm, whose function does not depend on how a batch is split.
    static let plain = """
        netc: 1
        name: plain
        input: {channels: 1, size: 8}
        classes: 10
        layers:
          - conv: {out: 4, kernel: 3, pad: 1}
          - relu
          - conv: {out: 8, kernel: 3, stride: 2, pad: 1}
          - relu
          - global_avgpool
          - flatten
          - linear: {out: $classes}
        """

    /// The trainer tests' network: batch norm in the stem and in residual and ResNeXt blocks, so a
    /// rank's share of a batch has statistics of its own unless `--sync-bn` sums them over the ranks.
    static let normalized = TrainerTests.spec

    /// The debug `netc` the tests were built with (`make test` builds it first).
    static let netc = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent(".build/debug/netc").path

    /// `mpirun -np 2` against one process, 20 steps of SGD with momentum (batch 8 of 80 images,
    /// 2 epochs): the ranks must reach one process's weights and momentum, and log its losses,
    /// within float32's reordered sums (measured: weights 8e-6 with batch norm, 2e-7 without); without
    /// `--sync-bn` batch norm computes another function, and the weights part.
    /// The normalized network's ~1,000 gradients go in 1 KiB buckets (4 of them, started during
    /// backward), the plain one's in one.
    @Test(arguments: [("plain", false), ("normalized", true), ("normalized", false)])
    func twoRanksAgainstOneProcess(_ spec: String, _ syncBatchNorm: Bool) throws {
        let dir = try makeTempDir("\(#function)-\(spec)-\(syncBatchNorm)")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try TrainerTests.writeDataset(dir)
        try Data((spec == "plain" ? Self.plain : Self.normalized).utf8).write(to: URL(fileURLWithPath: "\(dir)/net.yaml"))
        let train = ["train", "\(dir)/net.yaml", "--data", dir, "--limit", "80", "--batch", "8", "--epochs", "2",
                     "--lr", "0.05", "--momentum", "0.9", "--log-every", "1"]
        try run(Self.netc, train + ["--out", "\(dir)/one"])
        try run("/usr/bin/mpirun", ["--allow-run-as-root", "--oversubscribe", "-np", "2", Self.netc] + train
                + ["--out", "\(dir)/two", "--bucket-mb", spec == "plain" ? "4" : "0.001"] + (syncBatchNorm ? ["--sync-bn"] : []))

        let one = try Checkpoint.read("\(dir)/one/checkpoint.safetensors")
        let two = try Checkpoint.read("\(dir)/two/checkpoint.safetensors")
        #expect(one.position?.step == 20 && two.position?.step == 20)
        #expect(one.file.tensors.keys.contains { $0.contains("momentum") }, "the optimizer's state is compared too")
        let worst = try worstDifference("\(dir)/one", "\(dir)/two")
        let momentum = try worstDifference("\(dir)/one", "\(dir)/two", optimizer: true)
        if spec == "normalized" && !syncBatchNorm {
            #expect(worst > 1e-2, "per-rank statistics are another function: worst relative difference \(worst)")
            return
        }
        #expect(worst <= 1e-4, "worst relative difference \(worst)")
        // Momentum sums the gradients' own differences: measured 7e-5 with batch norm.
        #expect(momentum <= 1e-3, "worst relative difference in momentum \(momentum)")
        let losses = (try losses("\(dir)/one"), try losses("\(dir)/two"))
        #expect(losses.0.count == 20 + 2 && losses.0.elementsEqual(losses.1) { abs($0 - $1) <= 1e-4 * abs($0) }, "\(losses)")
        // Rank 0 alone wrote: one run directory each, nothing else.
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir).filter { !$0.hasSuffix(".gz") }.sorted() == ["net.yaml", "one", "two"])
    }

    /// A run may resume over another number of ranks: 2 ranks for the first epoch, then one
    /// process for the second, end where one process for both does.
    @Test func aRunResumesOverAnotherNumberOfRanks() throws {
        let dir = try makeTempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try TrainerTests.writeDataset(dir)
        try Data(Self.normalized.utf8).write(to: URL(fileURLWithPath: "\(dir)/net.yaml"))
        let train = ["train", "\(dir)/net.yaml", "--data", dir, "--limit", "80", "--batch", "8", "--lr", "0.05", "--momentum", "0.9"]
        try run(Self.netc, train + ["--epochs", "2", "--out", "\(dir)/one"])
        try run("/usr/bin/mpirun", ["--allow-run-as-root", "--oversubscribe", "-np", "2", Self.netc] + train
                + ["--epochs", "1", "--out", "\(dir)/mixed", "--sync-bn"])
        // --sync-bn in one process changes nothing, and says so.
        let resumed = try run(Self.netc, ["train", "--resume", "\(dir)/mixed", "--epochs", "2", "--sync-bn"])
        #expect(resumed.contains("warning: --sync-bn has no effect in one process"), "\(resumed)")
        let worst = try worstDifference("\(dir)/one", "\(dir)/mixed")
        #expect(worst <= 1e-4, "worst relative difference \(worst)")
    }

    /// A non-finite loss on one rank (an image of 3e38 in its share) stops every rank at that step,
    /// and rank 0 says which rank it was.
    @Test func aNonFiniteLossOnOneRankStopsTheJob() throws {
        let dir = try makeTempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var x = (0..<32 * 64).map { Float($0 % 64) / 64 }
        for i in 0..<64 { x[5 * 64 + i] = 3e38 }
        try NPY.write(NPYArray(shape: [32, 1, 8, 8], data: x), to: "\(dir)/train_x.npy")
        try NPY.write(NPYArray(shape: [8, 1, 8, 8], data: Array(x[0..<8 * 64])), to: "\(dir)/test_x.npy")
        let labels = (0..<32).map { Float($0 % 10) }
        try NPY.write(NPYArray(shape: [32], data: labels), to: "\(dir)/train_y.npy")
        try NPY.write(NPYArray(shape: [8], data: Array(labels[0..<8])), to: "\(dir)/test_y.npy")
        try Data(Self.plain.utf8).write(to: URL(fileURLWithPath: "\(dir)/net.yaml"))
        let output = try run("/usr/bin/mpirun", ["--allow-run-as-root", "--oversubscribe", "-np", "2", Self.netc, "train",
                                                 "\(dir)/net.yaml", "--data", dir, "--batch", "8", "--out", "\(dir)/run"], expectSuccess: false)
        #expect(output.contains(try Regex(#"error: the loss became (NaN|non-finite) at step \d+ \(epoch 1\) on rank [01] of 2"#)), "\(output)")
    }

    /// A rank killed with SIGKILL stops the job within seconds: no MPI call returns on rank 0,
    /// but it sees the rank's connection to it close, names the rank, and ends; the last
    /// checkpoint is intact and the run resumes from it.
    @Test func aKilledRankStopsTheJobAndRankZeroNamesIt() throws {
        let dir = try makeTempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try TrainerTests.writeDataset(dir)
        try Data(Self.plain.utf8).write(to: URL(fileURLWithPath: "\(dir)/net.yaml"))
        // 12 steps an epoch, far more epochs than the test waits for (a debug build takes about
        // 600 steps a second), a checkpoint every 10 steps and at each epoch's end.
        let mpirun = Process()
        mpirun.executableURL = URL(fileURLWithPath: "/usr/bin/mpirun")
        mpirun.arguments = ["--allow-run-as-root", "--oversubscribe", "-np", "2", Self.netc, "train", "\(dir)/net.yaml",
                            "--data", dir, "--batch", "8", "--epochs", "1000", "--test-limit", "8",
                            "--checkpoint-every", "10", "--out", "\(dir)/run"]
        let pipe = Pipe()
        mpirun.standardOutput = pipe
        mpirun.standardError = pipe
        let output = Output()
        try mpirun.run()
        // Read while it runs: the progress line alone would fill the pipe.
        Thread { output.append(pipe.fileHandleForReading.readDataToEndOfFile()) }.start()
        defer {   // whatever failed, no rank outlives the test
            for pid in Self.ranks(of: mpirun.processIdentifier).values { kill(pid, SIGKILL) }
            if mpirun.isRunning { kill(mpirun.processIdentifier, SIGKILL) }
        }

        func waitUntil(seconds: Double, _ condition: () -> Bool) -> Bool {
            let deadline = Date().addingTimeInterval(seconds)
            while !condition() {
                if Date() > deadline { return false }
                usleep(20_000)
            }
            return true
        }
        let checkpoint = "\(dir)/run/checkpoint.safetensors"
        try #require(waitUntil(seconds: 60) { BinaryFile.exists(checkpoint) || !mpirun.isRunning }, "no checkpoint within 60 s")
        var victim: pid_t?
        try #require(waitUntil(seconds: 10) { victim = Self.ranks(of: mpirun.processIdentifier)[1]; return victim != nil },
                     "rank 1 not found among mpirun's children")
        let killed = Date()
        kill(victim!, SIGKILL)
        let ended = waitUntil(seconds: 10) { !mpirun.isRunning }
        let seconds = Date().timeIntervalSince(killed)
        #expect(ended, "the job still ran 10 s after rank 1 was killed")
        guard ended else { return }
        mpirun.waitUntilExit()
        #expect(mpirun.terminationStatus != 0)
        let text = waitUntil(seconds: 5) { output.done } ? output.text : ""

        // Rank 0 names the rank and the checkpoint it kept; measured 1.1-1.2 s from kill to exit.
        let report = try Regex(#"error: rank 1 of 2 \(pid (\d+) on [^)]+\) died (at step \d+ \(epoch \d+\)|while the ranks evaluated epoch \d+); rank 0 stops the job\n"#
                               + #"help: the last checkpoint, (.+) \(step (\d+)\), is intact; continue with netc train --resume (.+) \(on any number of ranks\)"#)
        let match = try #require(text.firstMatch(of: report), "\(String(text.suffix(2000)))")
        #expect(match.output[1].substring.map { pid_t($0) } == victim)
        #expect(match.output[3].substring.map(String.init) == checkpoint && match.output[5].substring.map(String.init) == "\(dir)/run")
        #expect(seconds < 5, "\(seconds) s from kill to exit")
        let contents = try Checkpoint.read(checkpoint)
        let position = try #require(contents.position)
        #expect(match.output[4].substring.map { Int($0) } == position.step, "the report names the checkpoint's step")
        // Rank 0 did not end in the middle of a checkpoint's write: no temporary file is left.
        #expect(try FileManager.default.contentsOfDirectory(atPath: "\(dir)/run").filter { $0.hasPrefix(".") }.isEmpty)
        // The run continues from it, in one process, to the end of the epoch it was in.
        let resumed = try run(Self.netc, ["train", "--resume", "\(dir)/run", "--epochs", "\(position.epoch + 1)"])
        #expect(resumed.contains("resuming plain at epoch \(position.epoch + 1) of \(position.epoch + 1), step \(position.step)"), "\(resumed)")
        #expect(try Checkpoint.read(checkpoint).position?.step == (position.epoch + 1) * 12)
    }

    /// What a process prints, gathered on another thread.
    final class Output: @unchecked Sendable {
        private let lock = NSLock()
        private var data = Data()
        private var finished = false
        func append(_ more: Data) { lock.lock(); data += more; finished = true; lock.unlock() }
        var done: Bool { lock.lock(); defer { lock.unlock() }; return finished }
        var text: String { lock.lock(); defer { lock.unlock() }; return String(decoding: data, as: UTF8.self) }
    }

    /// The ranks `mpirun` started on this machine, by rank: its children whose environment says
    /// OMPI_COMM_WORLD_RANK (other tests' jobs may run meanwhile).
    static func ranks(of mpirun: pid_t) -> [Int: pid_t] {
        var ranks: [Int: pid_t] = [:]
        for name in (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? [] {
            guard let pid = pid_t(name),
                  let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
                  // "pid (command) state ppid ...": the command may hold spaces and parentheses.
                  let fields = stat.split(separator: ")").last?.split(separator: " "), fields.count > 2,
                  pid_t(fields[1]) == mpirun,
                  let environment = FileManager.default.contents(atPath: "/proc/\(pid)/environ") else { continue }
            for variable in environment.split(separator: 0) {
                let text = String(decoding: variable, as: UTF8.self)
                if text.hasPrefix("OMPI_COMM_WORLD_RANK="), let rank = Int(text.dropFirst(21)) { ranks[rank] = pid }
            }
        }
        return ranks
    }

    /// The worst difference between two runs' final weights (and batch-norm statistics), relative
    /// to each tensor's scale; `optimizer`: between their optimizer states instead.
    func worstDifference(_ a: String, _ b: String, optimizer: Bool = false) throws -> Float {
        let one = try Checkpoint.read("\(a)/checkpoint.safetensors").file.tensors
        let two = try Checkpoint.read("\(b)/checkpoint.safetensors").file.tensors
        #expect(Set(one.keys) == Set(two.keys))
        var worst: Float = 0
        for (name, t) in one where t.dtype == .F32 && name.hasPrefix("optimizer.") == optimizer {
            let x = try t.floats(), y = try #require(two[name]).floats()
            // A conv's bias before a batch norm has no gradient: its momentum is round-off, so a floor.
            let scale = max(x.map(abs).max() ?? 0, 1e-3)
            worst = max(worst, zip(x, y).map { abs($0 - $1) / scale }.max() ?? 0)
        }
        return worst
    }

    /// Every train_loss in a run's metrics.jsonl, in order.
    func losses(_ run: String) throws -> [Double] {
        try String(contentsOfFile: "\(run)/metrics.jsonl", encoding: .utf8).split(separator: "\n").compactMap {
            try JSON.parse(Array($0.utf8))["train_loss"]?.doubleValue
        }
    }

    /// Runs a program to its end; returns what it printed.
    @discardableResult
    func run(_ program: String, _ arguments: [String], expectSuccess: Bool = true) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: program)
        process.arguments = arguments
        let output = Pipe()
        process.standardOutput = output
        process.standardError = output
        try process.run()
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        #expect((process.terminationStatus == 0) == expectSuccess, "\(program) \(arguments.joined(separator: " ")):\n\(text)")
        return text
    }
}
