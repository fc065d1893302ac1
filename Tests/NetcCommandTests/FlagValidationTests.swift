import ArgumentParser
import Testing
@testable import netc

/// Flags out of range are refused before anything runs, with a message that names the flag, the
/// range and the value given. Negative numbers are values, not flags (`--lr -1` used to be
/// answered "Missing value for '--lr <lr>'").
struct FlagValidationTests {
    @Test(arguments: [
        (["--lr", "-1"], "--lr must be a positive finite number, got -1.0"),
        (["--lr", "nan"], "--lr must be a positive finite number, got nan"),
        (["--lr", "inf"], "--lr must be a positive finite number, got inf"),
        (["--momentum", "1"], "--momentum must be at least 0 and below 1, got 1.0"),
        (["--momentum", "-0.5"], "--momentum must be at least 0 and below 1, got -0.5"),
        (["--weight-decay", "-1"], "--weight-decay must be a finite number at least 0, got -1.0"),
        (["--warmup-epochs", "-1"], "--warmup-epochs must be at least 0, got -1"),
        (["--seed", "-1"], "--seed must be at least 0, got -1"),
        (["--epochs", "-2"], "--epochs must be at least 1, got -2"),
        (["--limit", "0"], "--limit must be at least 1, got 0"),
        (["--test-limit", "0"], "--test-limit must be at least 1, got 0"),
        (["--log-every", "0"], "--log-every must be at least 1, got 0"),
        (["--checkpoint-every", "-1"], "--checkpoint-every must be at least 1, got -1"),
        (["--schedule", "linear"], "--schedule must be constant, step or cosine, got 'linear'"),
        (["--optimizer", "adam"], "--optimizer is 'adam'; netc has sgd and adamw"),
    ])
    func trainRefuses(_ arguments: [String], _ expected: String) {
        let error = #expect(throws: (any Error).self) { try TrainCommand.parse(arguments) }
        #expect(error.map { TrainCommand.message(for: $0) } == expected)
    }

    @Test func summaryListTakesNoSpec() {
        let error = #expect(throws: (any Error).self) { try SummaryCommand.parse(["--list", "resnet18"]) }
        #expect(error.map { SummaryCommand.message(for: $0) } == "--list names the bundled architectures and takes no spec, got 'resnet18'")
    }

    @Test func trainAcceptsUsableValues() {
        #expect(throws: Never.self) { try TrainCommand.parse(["--lr", "0.1", "--momentum", "0.9", "--seed", "0", "--warmup-epochs", "0"]) }
    }

    @Test(arguments: [
        (["--lr", "nan"], "--lr must be a positive finite number, got nan"),
        (["--momentum", "1"], "--momentum must be at least 0 and below 1, got 1.0"),
        (["--weight-decay", "-0.5"], "--weight-decay must be a finite number at least 0, got -0.5"),
    ])
    func stepRefuses(_ arguments: [String], _ expected: String) {
        let required = ["resnet18", "--weights", "w", "--input", "x.npy", "--labels", "y.npy", "--output", "o"]
        let error = #expect(throws: (any Error).self) { try StepCommand.parse(required + arguments) }
        #expect(error.map { StepCommand.message(for: $0) } == expected)
    }

    @Test func evalRefusesAnEmptyBatch() {
        let error = #expect(throws: (any Error).self) { try EvalCommand.parse(["resnet18", "--weights", "w", "--batch", "0"]) }
        #expect(error.map { EvalCommand.message(for: $0) } == "--batch must be at least 1, got 0")
    }

    @Test func summaryRefusesDepthZero() {
        let error = #expect(throws: (any Error).self) { try SummaryCommand.parse(["--depth", "0"]) }
        #expect(error.map { SummaryCommand.message(for: $0) } == "--depth must be at least 1, got 0")
    }

    @Test func benchRefusesAnEmptyBatch() {
        let error = #expect(throws: (any Error).self) { try BenchCommand.parse(["--batch", "-3"]) }
        #expect(error.map { BenchCommand.message(for: $0) } == "--batch must be at least 1, got -3")
    }

    /// `netc run` classifies image files or writes the logits of an .npy batch: it takes one of
    /// the two, and --input needs --output.
    @Test(arguments: [
        ([String](), "give image files to classify, or --input x.npy --output logits.npy"),
        (["a.png", "--input", "x.npy", "--output", "y.npy"], "give image files or --input, not both"),
        (["--input", "x.npy"], "--input needs --output: where to write the logits"),
        (["a.png", "--top", "0"], "--top must be at least 1, got 0"),
    ])
    func runRefuses(_ arguments: [String], _ expected: String) {
        let error = #expect(throws: (any Error).self) { try RunCommand.parse(["resnet18", "--weights", "w"] + arguments) }
        #expect(error.map { RunCommand.message(for: $0) } == expected)
    }
}
