import Foundation
import Testing
@testable import NetcTrain

/// `RunDirectory.createForNewRun("")` made no directory, listed "" as empty (a `try?`), and
/// the run wrote its checkpoint, spec and metrics into the current directory.
@Suite struct RunDirectoryPathTests {
    @Test func anEmptyPathIsRefused() {
        let error = #expect(throws: TrainingError.self) { try RunDirectory.createForNewRun("") }
        #expect(error?.description == """
            the run directory's path is empty
            help: give --out a directory path
            """)
    }
}
