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

    /// A network without batch norm, whose function does not depend on how a batch is split:
    /// `mpirun -np 2` must reach one process's weights (float32 sums in another order, so not
    /// bit for bit) and log the same losses. The last batch (90 = 5 x 16 + 10) is split 5 + 5.
    static let spec = """
        netc: 1
        name: tiny
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
        train: {batch: 16, epochs: 2, optimizer: {sgd: {lr: 0.1, momentum: 0.9}}}
        """

    /// The debug `netc` the tests were built with (`make test` builds it first).
    static let netc = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent(".build/debug/netc").path

    @Test func twoRanksReachOneProcessWeights() throws {
        let dir = try makeTempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try TrainerTests.writeDataset(dir)
        try Data(Self.spec.utf8).write(to: URL(fileURLWithPath: "\(dir)/tiny.yaml"))
        let train = ["train", "\(dir)/tiny.yaml", "--data", dir, "--limit", "90"]
        try run(Self.netc, train + ["--out", "\(dir)/one"])
        try run("/usr/bin/mpirun", ["--allow-run-as-root", "--oversubscribe", "-np", "2", Self.netc] + train + ["--out", "\(dir)/two"])

        let one = try Checkpoint.read("\(dir)/one/checkpoint.safetensors").file.tensors
        let two = try Checkpoint.read("\(dir)/two/checkpoint.safetensors").file.tensors
        #expect(Set(one.keys) == Set(two.keys))
        var worst: Float = 0
        for (name, a) in one {
            let x = try a.floats(), y = try #require(two[name]).floats()
            let scale = max(x.map(abs).max() ?? 0, 1e-6)
            worst = max(worst, zip(x, y).map { abs($0 - $1) / scale }.max() ?? 0)
        }
        #expect(worst <= 1e-5, "worst relative difference \(worst)")
        #expect(one.keys.contains { $0.contains("momentum") }, "the optimizer's state is compared too")
        #expect(try losses("\(dir)/one") .elementsEqual(try losses("\(dir)/two")) { abs($0 - $1) <= 1e-5 * abs($0) })
        // Rank 0 alone wrote: one run directory each, nothing else.
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir).sorted() == ["one", "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz", "tiny.yaml", "train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz", "two"])
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
