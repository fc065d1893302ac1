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

    /// A batch holding NaN gave NaN logits (`netc run`) and NaN weights (`netc step`), exit 0.
    @Test func aNonFinitePixelIsRefusedWithWhereItIs() {
        var data = [Float](repeating: 0.5, count: 2 * 3 * 4 * 5)
        data[1 * 60 + 2 * 20 + 3 * 5 + 4] = .infinity
        let e = #expect(throws: TrainingError.self) { try InputBatch(NPYArray(shape: [2, 3, 4, 5], data: data), source: "x.npy") }
        #expect(e?.description == """
            x.npy holds inf in image 1 at channel 2, row 3, column 4
            help: give finite pixel values (np.nan_to_num replaces NaN and infinities)
            """)
        data[7] = .nan
        #expect(throws: TrainingError.self) { try InputBatch(NPYArray(shape: [2, 3, 4, 5], data: data), source: "x.npy") }
    }
}
