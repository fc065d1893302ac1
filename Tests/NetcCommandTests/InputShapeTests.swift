import ArgumentParser
import Testing
@testable import netc

/// `netc summary --input NxCxHxW`: a refusal says which dimension is wrong and what is accepted.
struct InputShapeTests {
    @Test func parsesFourDimensions() throws {
        let s = try InputShape.parse("2x1x96x64")
        #expect(s.batch == 2 && s.sample.dims == [1, 96, 64])
    }

    @Test(arguments: [
        ("1x0x96x96", "C (channels) is '0'; each dimension must be a whole number from 1 to 1048576, e.g. 1x1x96x96"),
        ("1x1xx96", "H (height) is ''; each dimension must be a whole number from 1 to 1048576, e.g. 1x1x96x96"),
        ("99999999999999999999x1x96x96",
         "N (batch) is '99999999999999999999'; each dimension must be a whole number from 1 to 1048576, e.g. 1x1x96x96"),
        ("1x1x96x-3", "W (width) is '-3'; each dimension must be a whole number from 1 to 1048576, e.g. 1x1x96x96"),
        ("1x1x96", "it has 3 dimensions; --input takes four, NxCxHxW, e.g. 1x1x96x96"),
    ])
    func refusalSaysWhy(_ argument: String, _ message: String) {
        let error = #expect(throws: ValidationError.self) { try InputShape.parse(argument) }
        #expect(error.map { "\($0)" } == message)
    }

    /// The whole message as the user sees it, through the command's own parser.
    @Test func commandLineMessage() {
        let error = #expect(throws: (any Error).self) { try SummaryCommand.parse(["--input", "1x0x96x96"]) }
        #expect(error.map { SummaryCommand.message(for: $0) } == "The value '1x0x96x96' is invalid for '--input <NxCxHxW>': "
            + "C (channels) is '0'; each dimension must be a whole number from 1 to 1048576, e.g. 1x1x96x96")
    }
}
