import Foundation
import NetcIR
import Testing
@testable import NetcSpec

/// Inputs `make fuzz` found that trapped the front end, fed back byte for byte. Each must now end
/// in errors; the diagnostic for the value that used to trap is asserted in full.
struct FuzzCrasherTests {
    static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("FuzzCrashers")

    @Test(arguments: [
        ("090475ae.yaml", 4, 7, """
            090475ae.yaml:4:7: error: 'netc' is 199999999999999999999, beyond the 64-bit integers netc reads
              4 | netc: 199999999999999999999
                |       ^~~~~~~~~~~~~~~~~~~~~

            """),
        ("211eedcf.yaml", 4, 28, """
            211eedcf.yaml:4:28: error: 'size' is 6666666666666666666666666666666666666666…; netc takes values up to 1048576
              4 | input: {c=annels: 1, size: 6666666666666666666666666666666666666666666666666666666666666666666666666666666666696}
                |                            ^~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~

            """),
        ("41993f8b.yaml", 5, 28, """
            41993f8b.yaml:5:28: error: 'size' must be an integer, got the number 961e19
              5 | input: {channels: 1, size: 961e19}
                |                            ^~~~~~
            help: use a whole number; sizes and counts go up to 1048576

            """),
        ("c205c69e.yaml", 3, 7, """
            c205c69e.yaml:3:7: error: 'netc' is 7777777777777777777777777777777777777777…, beyond the 64-bit integers netc reads
              3 | netc: 777777777777777777777777777777777777777777777777777777777777777777777777777777777777777777777777777777777777771
                |       ^~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~

            """),
    ])
    func crasherGetsAnError(_ file: String, _ line: Int, _ column: Int, _ expected: String) throws {
        let bytes = try [UInt8](Data(contentsOf: Self.directory.appendingPathComponent(file)))
        let c = Compiler.compile(bytes: bytes, file: file)
        #expect(!c.succeeded && c.diagnostics.hasErrors)
        let trapped = try #require(c.diagnostics.first { $0.location?.line == line && $0.location?.column == column })
        let rendered = DiagnosticRenderer(sources: [file: c.source]).render(trapped)
        #expect(rendered == expected)
    }
}
