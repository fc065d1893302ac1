import Foundation
import Testing
@testable import NetcTrain

@Suite struct MetricsLogTests {
    @Test func writesOneObjectPerLineAndAppends() throws {
        let dir = try makeTempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/metrics.jsonl"
        let log = try MetricsLog(path: path)
        try log.append(["epoch": 1, "train_loss": 0.5, "split": "train \"a\"\n"])
        // Flushed per line: the record is on disk before close.
        #expect(String(decoding: try BinaryFile.read(path), as: UTF8.self) ==
            #"{"epoch":1,"train_loss":0.5,"split":"train \"a\"\n"}"# + "\n")
        try log.append(["loss": .double(.nan), "lr": .double(.infinity), "neg": .double(-.infinity), "tiny": 1e-5])
        log.close()
        let closed = #expect(throws: DataFileError.self) { try log.append(["x": 1]) }
        #expect(closed?.description == "\(path): metrics log is closed")

        let again = try MetricsLog(path: path)
        try again.append(["epoch": 2, "acc": 1.0])
        again.close()
        let lines = String(decoding: try BinaryFile.read(path), as: UTF8.self).split(separator: "\n")
        #expect(lines.count == 3)
        #expect(lines[1] == #"{"loss":null,"lr":null,"neg":null,"tiny":1e-05}"#)
        #expect(lines[2] == #"{"epoch":2,"acc":1.0}"#)
        // Every line is standard JSON.
        for l in lines {
            #expect((try? JSONSerialization.jsonObject(with: Data(l.utf8))) is [String: Any])
            #expect(throws: Never.self) { try JSON.parse(Array(l.utf8)) }
        }
        #expect(try JSON.parse(Array(lines[0].utf8))["split"] == .string("train \"a\"\n"))
    }

    @Test func repairsPartialLastLine() throws {
        let dir = try makeTempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/metrics.jsonl"
        try writeBytes(Array(#"{"epoch":1}"#.utf8) + Array(#"{"epo"#.utf8), path)  // crash mid-record
        let log = try MetricsLog(path: path)
        try log.append(["epoch": 2])
        let text = String(decoding: try BinaryFile.read(path), as: UTF8.self)
        #expect(text.hasSuffix("{\"epo\n{\"epoch\":2}\n"))

        let fresh = try MetricsLog(path: path, truncate: true)
        try fresh.append(["a": "b"])
        #expect(try BinaryFile.read(path) == Array("{\"a\":\"b\"}\n".utf8))
    }

    @Test func countsItsBytesAndCutsBack() throws {
        let dir = try makeTempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/metrics.jsonl"
        try writeBytes(Array(#"{"step":1}"#.utf8), path)  // a crash left no newline
        let log = try MetricsLog(path: path)
        #expect(log.length == 11)
        try log.append(["step": 2])
        #expect(log.length == 22)
        try log.append(["step": 3])
        try log.sync()
        try log.truncate(to: 22)
        try log.append(["step": 4])
        #expect(String(decoding: try BinaryFile.read(path), as: UTF8.self) == "{\"step\":1}\n{\"step\":2}\n{\"step\":4}\n")
        #expect(log.length == 33)
    }

    /// A full disk, for real: /dev/full fails every write with ENOSPC.
    @Test func aFullDiskIsAnErrorNamingTheFile() throws {
        let error = #expect(throws: DataFileError.self) { try MetricsLog(path: "/dev/full").append(["step": 1]) }
        #expect(error?.description == "/dev/full: write to metrics log failed: No space left on device")
    }
}

/// The live line gives the epoch's ETA and, while epochs remain, the whole run's.
@Test func progressLineGivesTheRunsETA() {
    #expect(Progress.line(epoch: 0, epochs: 10, step: 100, steps: 469, loss: 0.5, accuracy: 0.8, imagesPerSecond: 90,
                          secondsLeft: 524.4, runSecondsLeft: 7194) == "epoch 1/10  step 100/469  loss 0.5000  acc 0.800  90.0 img/s  ETA 8:44  (run 1:59:54)")
    #expect(Progress.line(epoch: 9, epochs: 10, step: 469, steps: 469, loss: 0.2, accuracy: 0.9, imagesPerSecond: 90,
                          secondsLeft: 0, runSecondsLeft: 0) == "epoch 10/10  step 469/469  loss 0.2000  acc 0.900  90.0 img/s  ETA 0:00")
}
