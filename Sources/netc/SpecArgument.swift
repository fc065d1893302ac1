import ArgumentParser
import Foundation
import NetcIR
import NetcSpec
import NetcTrain
import NetcZoo

/// Resolves a SPEC argument: `-` for standard input, a path if such a file exists, else a bundled
/// architecture's name.
enum SpecArgument {
    /// Standard input, read once: a command may compile its spec more than once (at another size).
    nonisolated(unsafe) private static var standardInput: [UInt8]?
    /// Reads up to `count` bytes of standard input (tests give their own).
    nonisolated(unsafe) static var readStandardInput: (Int) -> [UInt8] = { Array(FileHandle.standardInput.readData(ofLength: $0)) }

    static func compile(_ spec: String?, input: Shape? = nil) -> Compilation {
        if spec == "-" {
            if standardInput == nil {
                // One byte past the limit is enough to refuse it, as for a file.
                standardInput = readStandardInput(Compiler.maxFileSize + 1)
            }
            if standardInput!.count > Compiler.maxFileSize {
                var c = Compiler.compile(source: "", file: "<stdin>")
                c.diagnostics = [.error("standard input holds more than \(Compiler.maxFileSize) bytes; netc refuses specs that large", at: nil,
                                        help: "is this really an architecture spec?")]
                return c
            }
            return Compiler.compile(bytes: standardInput!, file: "<stdin>", input: input)
        }
        let name = spec ?? Zoo.defaultName
        if spec == nil || !FileManager.default.fileExists(atPath: name), let text = Zoo.spec(named: name) {
            return Compiler.compile(source: text, file: "architectures/\(name.hasSuffix(".yaml") ? name : name + ".yaml")", input: input)
        }
        var c = Compiler.compile(path: name, input: input)
        if c.source.isEmpty, c.spec == nil, !FileManager.default.fileExists(atPath: name) {
            c.diagnostics = [.error("'\(name)' is neither a file nor a bundled architecture", at: nil,
                                    help: "bundled architectures: " + Zoo.names.joined(separator: ", "))]
        }
        return c
    }
}

extension SpecArgument {
    /// The graph of SPEC at `--size` (square images; the spec's own input size when nil), its
    /// warnings printed; a failure is thrown as its diagnostics.
    static func graph(_ spec: String?, size: Int?) throws -> Graph {
        let request = size.map { InputSizeRequest.square($0, from: "--size \($0)", flag: "--size") }
        let (compilation, graph) = try compileResized(compile(spec), to: request) { compile(spec, input: $0) }
        printWarnings(compilation)
        return graph
    }

    /// Compiles spec text saved in a checkpoint, at the size its recipe resizes images to.
    static func compile(text: String, file: String, input options: TrainingOptions) throws -> Compilation {
        let size = options.resize.map { InputSizeRequest.square($0, from: "the checkpoint's recipe (resize: \($0))", flag: nil) }
        return try compileResized(Compiler.compile(source: text, file: file), to: size) {
            Compiler.compile(source: text, file: file, input: $0)
        }.compilation
    }
}

/// The graph of a compilation, its warnings printed; a failure is thrown as its diagnostics
/// (`SpecCompilationError`, which `reportingErrors` prints).
func compile(_ c: Compilation) throws -> Graph {
    guard let g = c.graph, c.succeeded else { throw SpecCompilationError(c) }
    printWarnings(c)
    return g
}

/// Prints a compilation's warnings (a successful one has no errors) to standard error.
func printWarnings(_ c: Compilation) {
    if !c.diagnostics.isEmpty { printError(c.renderDiagnostics()) }
}

/// Writes to standard error, where diagnostics belong.
func printError(_ text: String) {
    FileHandle.standardError.write(Data(text.utf8))
}

/// Runs a command's body, turning any error other than an `ExitCode` into its
/// `errorReport` on standard error and exit status 1.
func reportingErrors(_ body: () throws -> Void) throws {
    do {
        try body()
    } catch let e as ExitCode {
        throw e
    } catch {
        printError(errorReport(error))
        throw ExitCode(1)
    }
}

/// What the command line prints for an error: `error: <description>`, except for a spec's
/// rendered diagnostics, which say `file:line:column: error:` themselves.
func errorReport(_ error: Error) -> String {
    if let e = error as? SpecCompilationError { return e.description }
    return "error: \(error)\n"
}
