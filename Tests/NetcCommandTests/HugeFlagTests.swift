import ArgumentParser
import Testing
@testable import netc

/// Counts and sizes beyond what a spec may write (2^20) overflowed later arithmetic and trapped
/// (SIGILL): `--warmup-epochs`, `--epochs` with a cosine schedule, `--resize` and `bench --size`
/// of Int.max.
struct HugeFlagTests {
    static let huge = String(Int.max)

    @Test(arguments: ["epochs", "warmup-epochs", "resize"])
    func trainRefuses(_ flag: String) {
        #expect(message(TrainCommand.self, ["--\(flag)", Self.huge]) == "--\(flag) is \(Int.max); netc takes values up to 1048576")
    }

    @Test func evalAndBenchRefuse() {
        #expect(message(EvalCommand.self, ["resnet18", "--weights", "w", "--resize", Self.huge])
            == "--resize is \(Int.max); netc takes values up to 1048576")
        #expect(message(BenchCommand.self, ["--size", Self.huge]) == "--size is \(Int.max); netc takes values up to 1048576")
    }

    @Test func theLargestValueIsTaken() {
        #expect(message(TrainCommand.self, ["--epochs", "1048576", "--warmup-epochs", "1048576", "--resize", "1048576"]) == "")
    }
}
