import NetcIR
import NetcSpec
import Testing
@testable import NetcTrain

/// `compileResized`: one compilation at the size a command asks for, recompiled only when the
/// size differs, and a size the spec cannot take blamed on whoever asked for it.
struct ResizedCompilationTests {
    /// Declares classes but no recipe and ends in a feature map: a warning at every size.
    static let spec = """
        netc: 1
        name: tiny
        input: {channels: 1, size: 8}
        classes: 10
        stem: [{maxpool: {kernel: 4, stride: 4}}]
        stages: [{block: residual, depth: 1, channels: 4}]

        """
    static let warning = "warning: the network's output is a feature map"

    func compile(_ input: Shape?) -> Compilation { Compiler.compile(source: Self.spec, file: "tiny.yaml", input: input) }

    /// The warning was printed once per compilation: twice when a resize recompiled.
    @Test func aResizedSpecsWarningIsReturnedOnce() throws {
        var sizes: [Shape] = []
        let (c, graph) = try compileResized(compile(nil), to: .square(16, from: "--resize 16", flag: "--resize")) {
            sizes.append($0)
            return compile($0)
        }
        #expect(sizes == [.map(1, 16, 16)])
        #expect(graph.inputShape == .map(1, 16, 16))
        #expect(c.renderDiagnostics().components(separatedBy: Self.warning).count == 2, "\(c.renderDiagnostics())")
        #expect(c.diagnostics.filter { $0.severity == .warning }.count == 1)
    }

    @Test func theDeclaredSizeIsNotRecompiled() throws {
        var recompiled = false
        let (c, graph) = try compileResized(compile(nil), to: .square(8, from: "--resize 8", flag: "--resize")) {
            recompiled = true
            return compile($0)
        }
        #expect(!recompiled)
        #expect(graph.inputShape == .map(1, 8, 8))
        #expect(c.diagnostics.count == 1)
    }

    /// `netc run` has no --resize: the help says what to do with the file.
    @Test func aBatchFileOfTheWrongSizeIsBlamedWithTheDeclaredSize() throws {
        let input = try InputBatch(NPYArray(shape: [1, 1, 1, 1], data: [0]), source: "x.npy")
        let error = #expect(throws: SpecCompilationError.self) {
            try compileResized(compile(nil), to: .images(of: input), recompile: compile)
        }
        #expect(error?.description.hasPrefix("""
            error: tiny cannot run on 1x1 images, the size from x.npy's images
            help: resize x.npy's images to a size the network's layers can take, such as its declared 8x8
            """) == true, "\(error?.description ?? "")")
    }

    /// A spec wrong in itself is reported as it is, whatever the size.
    @Test func aSpecThatDoesNotCompileIsNotBlamedOnTheSize() {
        let broken = Compiler.compile(source: "netc: 1\nname: t\ninput: {channels: 1, size: 8}\nclasses: 0\n", file: "t.yaml")
        let error = #expect(throws: SpecCompilationError.self) {
            try compileResized(broken, to: .square(16, from: "--resize 16", flag: "--resize")) { _ in Issue.record("recompiled"); return broken }
        }
        #expect(error?.description == broken.renderDiagnostics())
    }
}
