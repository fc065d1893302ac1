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

    /// Batch norm in the stem and in residual and ResNeXt blocks: a rank's share of a batch has
    /// statistics of its own unless `--sync-bn` sums them over the ranks.
    static let normalized = """
        netc: 1
        name: normalized
        input: {channels: 1, size: 8}
        classes: 10
        stem: [{conv: {out: 4, kernel: 3, pad: 1}}, batchnorm, relu]
        stages:
          - {block: residual, depth: 1, channels: 4}
          - {block: resnext, depth: 1, channels: 8, stride: 2, bot_mul: 1, groups: 2}
        head: [global_avgpool, flatten, {linear: {out: $classes}}]
        """

    /// The debug `netc` the tests were built with (`make test` builds it first).
    static let netc = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent(".build/debug/netc").path

    /// `mpirun -np 2` against one process, 20 steps of SGD with momentum (batch 8 of 80 images,
    /// 2 epochs): the ranks must reach one process's weights and momentum, and log its losses,
    /// within float32's reordered sums (measured: 8e-6 with batch norm, 1e-7 without); without
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
        #expect(Set(one.file.tensors.keys) == Set(two.file.tensors.keys))
        #expect(one.file.tensors.keys.contains { $0.contains("momentum") }, "the optimizer's state is compared too")
        var worst: Float = 0
        for (name, a) in one.file.tensors where a.dtype == .F32 {
            let x = try a.floats(), y = try #require(two.file.tensors[name]).floats()
            // A conv's bias before a batch norm has no gradient: its momentum is round-off, so a floor.
            let scale = max(x.map(abs).max() ?? 0, 1e-3)
            worst = max(worst, zip(x, y).map { abs($0 - $1) / scale }.max() ?? 0)
        }
        if spec == "normalized" && !syncBatchNorm {
            #expect(worst > 1e-2, "per-rank statistics are another function: worst relative difference \(worst)")
            return
        }
        #expect(worst <= 1e-4, "worst relative difference \(worst)")
        let losses = (try losses("\(dir)/one"), try losses("\(dir)/two"))
        #expect(losses.0.count == 20 + 2 && losses.0.elementsEqual(losses.1) { abs($0 - $1) <= 1e-4 * abs($0) }, "\(losses)")
        // Rank 0 alone wrote: one run directory each, nothing else.
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir).filter { !$0.hasSuffix(".gz") }.sorted() == ["net.yaml", "one", "two"])
    }

    /// Every train_loss in a run's metrics.jsonl, in order.
    func losses(_ run: String) throws -> [Double] {
        try String(contentsOfFile: "\(run)/metrics.jsonl", encoding: .utf8).split(separator: "\n").compactMap {
            try JSON.parse(Array($0.utf8))["train_loss"]?.doubleValue
        }
    }

    func run(_ program: String, _ arguments: [String]) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: program)
        process.arguments = arguments
        let output = Pipe()
        process.standardOutput = output
        process.standardError = output
        try process.run()
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        #expect(process.terminationStatus == 0, "\(program) \(arguments.joined(separator: " ")):\n\(text)")
    }
}
