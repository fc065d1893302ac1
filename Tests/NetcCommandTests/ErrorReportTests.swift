import NetcSpec
import NetcTrain
import Testing
@testable import netc

/// A spec's diagnostics reach the terminal once prefixed, by themselves: `netc eval` used to print
/// `error: tiny.yaml:3:8: error: ...`.
struct ErrorReportTests {
    @Test func specErrorsAreNotPrefixedTwice() {
        let c = Compiler.compile(source: "netc: 1\nname: t\ninput: {channels: 1, size: 8}\nclasses: 0\n", file: "tiny.yaml")
        let report = errorReport(SpecCompilationError(c))
        #expect(report == c.renderDiagnostics())
        #expect(report.hasPrefix("tiny.yaml:"), "\(report)")
        #expect(!report.contains("error: tiny.yaml"))
    }

    @Test func otherErrorsAreSaidOnceWithTheirHelp() {
        #expect(errorReport(TrainingError("x.npy holds no images", help: "save one")) == "error: x.npy holds no images\nhelp: save one\n")
    }
}
