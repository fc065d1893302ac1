import ArgumentParser
import Foundation

@main
struct Netc: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "netc",
        abstract: "A declarative neural-network architecture compiler: networks from YAML, checked, summarised, drawn, trained and exported.",
        discussion: """
            A spec is a YAML file (see docs/spec.md) or the name of a bundled architecture \
            (resnet18, resnext, googlenet, imagenet/resnet50, imagenet/mobilenet_v2, ...).
            """,
        version: NetcVersion.string,
        subcommands: [CheckCommand.self, SummaryCommand.self, CompileCommand.self, TrainCommand.self, EvalCommand.self, RunCommand.self, StepCommand.self, BenchCommand.self, GraphCommand.self, DiffCommand.self, ExportCommand.self, PlotCommand.self])

    /// Every error exits with status 1, a bad flag too (swift-argument-parser would use 64), so
    /// scripts need test one status; help and version still exit 0.
    static func main() {
        do {
            var command = try parseAsRoot()
            try command.run()
        } catch {
            let code = exitCode(for: error)
            guard code == .validationFailure else { exit(withError: error) }
            var message = fullMessage(for: error)
            if message.hasPrefix("Error: ") { message = "error: " + message.dropFirst("Error: ".count) }
            FileHandle.standardError.write(Data((message + "\n").utf8))
            Foundation.exit(1)
        }
    }
}

enum NetcVersion {
    /// The release, and the commit when the Makefile built it (it writes `BuildCommit.swift`,
    /// which git ignores, and sets NETC_BUILD_COMMIT): `0.1.0 (commit 470f956)`.
    #if NETC_BUILD_COMMIT
    static let string = "0.1.0 (commit \(buildCommit))"
    #else
    static let string = "0.1.0"
    #endif
}
