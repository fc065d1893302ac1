import ArgumentParser

@main
struct Netc: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "netc",
        abstract: "A declarative neural-network architecture compiler: ResNets from YAML, checked, summarised and trained.",
        discussion: """
            A spec is a YAML file (see docs/spec.md) or the name of a bundled architecture
            (resnet18, resnet50, resnext, preact-resnet18, imagenet/resnet50, ...).
            """,
        version: NetcVersion.string,
        subcommands: [CheckCommand.self, SummaryCommand.self, TrainCommand.self, EvalCommand.self, RunCommand.self, StepCommand.self, BenchCommand.self])
}

enum NetcVersion {
    static let string = "0.1.0"
}
