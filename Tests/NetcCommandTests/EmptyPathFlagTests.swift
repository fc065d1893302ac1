import ArgumentParser
import Testing
@testable import netc

/// A path flag given as "" names nothing. `netc train --out ""` used to train into the current
/// directory, whatever it held, and exit 0.
struct EmptyPathFlagTests {
    @Test(arguments: ["out", "data"])
    func trainRefusesAnEmptyPath(_ flag: String) {
        #expect(message(TrainCommand.self, ["resnet18", "--\(flag)", ""]) == "--\(flag) is empty; give a path")
    }

    @Test func trainRefusesAnEmptyResume() {
        #expect(message(TrainCommand.self, ["--resume", ""]) == "--resume is empty; give a path")
    }

    @Test func evalRefusesEmptyPaths() {
        #expect(message(EvalCommand.self, ["resnet18", "--weights", ""]) == "--weights is empty; give a path")
        #expect(message(EvalCommand.self, ["resnet18", "--weights", "w", "--data", ""]) == "--data is empty; give a path")
    }
}

/// `netc summary --depth -1` was "Missing value for '--depth <depth>'": the -1 read as a flag.
struct SummaryDepthFlagTests {
    @Test(arguments: ["-1", "0"])
    func summaryRefusesADepthBelowOne(_ depth: String) {
        let m: String
        do { _ = try SummaryCommand.parse(["resnet18", "--depth", depth]); m = "" } catch { m = SummaryCommand.message(for: error) }
        #expect(m == "--depth must be at least 1, got \(depth)")
    }
}
