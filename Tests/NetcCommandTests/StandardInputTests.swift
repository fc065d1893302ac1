import NetcSpec
import Testing
@testable import netc

/// `netc check -`: the spec comes from standard input, read once, through the file path's checks.
@Suite(.serialized) struct StandardInputTests {
    @Test func aSpecFromStandardInputCompilesAndIsNamedStdin() {
        var reads = 0
        SpecArgument.readStandardInput = { _ in
            reads += 1
            return Array("netc: 1\nname: piped\ninput: {channels: 1, size: 8}\nlayers: [{conv: {out: 2, kernel: 30}}]\n".utf8)
        }
        let first = SpecArgument.compile("-"), again = SpecArgument.compile("-")
        #expect(reads == 1, "standard input is read once, however often the spec is compiled")
        #expect(first.file == "<stdin>" && again.source == first.source)
        #expect(first.renderDiagnostics().hasPrefix("<stdin>:4:11: error: conv 30x30 collapses the 8x8 feature map to 0x0"))
    }
}
