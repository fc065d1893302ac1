import Foundation
import Testing
@testable import NetcTrain

/// A run directory is never overwritten, never shared by two netc processes, always one
/// directory under runs/, and a failed start leaves nothing behind.
@Suite struct RunDirectoryTests {
    @Test func specNamesBecomeOneSafeDirectoryName() {
        #expect(RunDirectory.safeName("../../x") == "_.._x")
        #expect(RunDirectory.safeName("a\nb/c d") == "a_b_c_d")
        #expect(RunDirectory.safeName("resnet-18_v1.5") == "resnet-18_v1.5")
        #expect(RunDirectory.safeName("..") == "run")
        #expect(RunDirectory.safeName("") == "run")
        #expect(RunDirectory.safeName(String(repeating: "n", count: 300)).count == 100)
        let noon = Date(timeIntervalSince1970: 1_795_780_800)  // 2026-11-27 12:00:00 UTC
        #expect(RunDirectory.defaultPath(forSpecNamed: "../../x", at: noon) == "runs/_.._x-20261127-120000")
    }

    @Test func refusesAnExistingRun() throws {
        let dir = try makeTempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try writeBytes([1], "\(dir)/checkpoint.safetensors")
        let error = #expect(throws: TrainingError.self) { try RunDirectory.createForNewRun(dir) }
        #expect(error?.description == """
            \(dir) already holds a run (checkpoint.safetensors); training into it would overwrite its checkpoint and spec
            help: continue it with --resume \(dir), or give another --out
            """)
    }

    @Test func refusesANonEmptyDirectoryAndTakesAnEmptyOne() throws {
        let dir = try makeTempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let run = try RunDirectory.createForNewRun(dir)
        #expect(!run.createdHere)
        run.unlock()
        try writeBytes([1], "\(dir)/notes.txt")
        let error = #expect(throws: TrainingError.self) { try RunDirectory.createForNewRun(dir) }
        #expect(error?.description == "\(dir) is not empty; a new run needs a new or empty directory\nhelp: give another --out")

        try writeBytes([1], "\(dir)/spec.yaml")  // killed before its first checkpoint
        let stopped = #expect(throws: TrainingError.self) { try RunDirectory.createForNewRun(dir) }
        #expect(stopped?.description == """
            \(dir) holds a run that stopped before its first checkpoint (spec.yaml but no checkpoint.safetensors), so there is nothing to resume
            help: remove \(dir), or give another --out
            """)

        let nested = try RunDirectory.createForNewRun("\(dir)/runs/a/b")
        #expect(nested.createdHere && FileManager.default.fileExists(atPath: "\(dir)/runs/a/b/netc.lock"))
    }

    @Test func twoProcessesCannotShareARun() throws {
        let dir = try makeTempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let run = try RunDirectory.createForNewRun("\(dir)/r")
        try writeBytes([1], run.checkpointPath)
        // flock locks belong to an open file description, so a second open in this process
        // conflicts exactly as another process would.
        let error = #expect(throws: TrainingError.self) { try RunDirectory.openForResume("\(dir)/r") }
        let inUse = "\(dir)/r is in use: another netc is training in it (it holds \(dir)/r/netc.lock)\nhelp: wait for that run to finish, or give another --out"
        #expect(error?.description == inUse)
        try FileManager.default.removeItem(atPath: run.checkpointPath)
        let second = #expect(throws: TrainingError.self) { try RunDirectory.createForNewRun("\(dir)/r") }
        #expect(second?.description == inUse, "a run before its first checkpoint is in use too")
        run.unlock()
        try writeBytes([1], run.checkpointPath)
        #expect(throws: Never.self) { try RunDirectory.openForResume("\(dir)/r") }
    }

    @Test func saysWhyTheDirectoryCannotBeCreated() throws {
        let dir = try makeTempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        // Root may write anywhere, so the test uses errors no permission lifts.
        let long = "\(dir)/" + String(repeating: "x", count: 300) + "/run"
        let tooLong = #expect(throws: TrainingError.self) { try RunDirectory.createForNewRun(long) }
        #expect(tooLong?.description == "cannot create run directory \(long): file name too long\nhelp: give --out a directory where you can write")
        try writeBytes([1], "\(dir)/file")
        let notDirectory = #expect(throws: TrainingError.self) { try RunDirectory.createForNewRun("\(dir)/file/run") }
        #expect(notDirectory?.description
                == "cannot create run directory \(dir)/file/run: \(dir)/file exists and is not a directory\nhelp: give --out a directory path")
        let missing = #expect(throws: TrainingError.self) { try RunDirectory.openForResume("\(dir)/none") }
        #expect(missing?.description == "no run directory \(dir)/none\nhelp: give the run directory that 'netc train' printed")
    }

    /// `--resume` of a directory that is not a run (`~/Downloads`) is refused without leaving
    /// netc.lock in it; so is a new run in a non-empty directory.
    @Test func aRefusedDirectoryGetsNoLockFile() throws {
        let dir = try makeTempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try writeBytes([1], "\(dir)/notes.txt")
        let resume = #expect(throws: TrainingError.self) { try RunDirectory.openForResume(dir) }
        #expect(resume?.description == "\(dir) has no checkpoint.safetensors\nhelp: give the run directory that 'netc train' printed")
        let start = #expect(throws: TrainingError.self) { try RunDirectory.createForNewRun(dir) }
        #expect(start?.description == "\(dir) is not empty; a new run needs a new or empty directory\nhelp: give another --out")
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir) == ["notes.txt"])
    }

    @Test func aFailedStartLeavesNothingBehind() throws {
        let dir = try makeTempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let run = try RunDirectory.createForNewRun("\(dir)/new")
        #expect(throws: TrainingError.self) {
            try run.removingIfFailedBeforeCheckpoint {
                try run.writeSpec("netc: 1\n")
                try writeBytes([1], "\(dir)/new/metrics.jsonl")
                throw TrainingError("bad data")
            }
        }
        #expect(!FileManager.default.fileExists(atPath: "\(dir)/new"))

        // A directory that existed before keeps existing (and anything else in it); with a
        // checkpoint, everything stays for --resume.
        let kept = try RunDirectory.createForNewRun(dir)
        #expect(throws: TrainingError.self) {
            try kept.removingIfFailedBeforeCheckpoint {
                try kept.writeSpec("netc: 1\n")
                try writeBytes([1], kept.checkpointPath)
                throw TrainingError("the loss became NaN")
            }
        }
        #expect(Set(try FileManager.default.contentsOfDirectory(atPath: dir)) == ["checkpoint.safetensors", "netc.lock", "spec.yaml"])
        kept.unlock()
        try FileManager.default.removeItem(atPath: kept.checkpointPath)
        let error = #expect(throws: TrainingError.self) { try RunDirectory.openForResume(dir) }
        #expect(error?.description == "\(dir) has no checkpoint.safetensors\nhelp: give the run directory that 'netc train' printed")
    }
}
