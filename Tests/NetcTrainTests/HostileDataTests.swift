import Foundation
import Testing
@testable import NetcTrain

/// Data files from the hostile-input hunt whose error named the wrong file.
@Suite struct HostileDataTests {
    static func be32(_ values: [UInt32]) -> [UInt8] {
        values.flatMap { v in [24, 16, 8, 0].map { UInt8(truncatingIfNeeded: v >> UInt32($0)) } }
    }

    /// An images file of 2 images of 0x0 pixels was blamed on the labels file.
    @Test func emptyImagesAreBlamedOnTheImagesFile() throws {
        let dir = try makeTempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try writeBytes(Self.be32([0x803, 2, 0, 0]), "\(dir)/train-images-idx3-ubyte")
        try writeBytes(Self.be32([0x801, 2]) + [0, 1], "\(dir)/train-labels-idx1-ubyte")
        let e = #expect(throws: DataFileError.self) { try IDXDataset.load(directory: dir, split: .train) }
        #expect(e?.description == "\(dir)/train-images-idx3-ubyte: image size 0×0 is empty")
    }
}
