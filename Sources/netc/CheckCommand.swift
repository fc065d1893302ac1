import ArgumentParser
import Foundation
import NetcIR
import NetcSpec

struct CheckCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check",
        abstract: "Parse, validate, lower and shape-check specs.",
        discussion: """
            Prints one line per good spec: name, parameters, conv+linear MACs at its declared input, \
            output shape. Errors come all at once as file:line:column with the source line, a caret \
            and a help line. Exit status 1 if any spec has errors; warnings alone keep 0.
            """)

    @Argument(help: "Spec files or bundled architecture names; - reads a spec from standard input.")
    var specs: [String]

    @Option(help: "Output format: text or json.")
    var format: OutputFormat = .text

    func run() throws {
        let results = specs.map { SpecArgument.compile($0) }
        switch format {
        case .text:
            for c in results {
                if !c.diagnostics.isEmpty { printError(c.renderDiagnostics()) }
                if let line = CheckReport(c).line { print(line) }
            }
        case .json:
            print(CheckReport.json(results.map(CheckReport.init)))
        }
        if results.contains(where: { !$0.succeeded }) { throw ExitCode(1) }
    }
}

enum OutputFormat: String, ExpressibleByArgument, CaseIterable {
    case text, json
}
