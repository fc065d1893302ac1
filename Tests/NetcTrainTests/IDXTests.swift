import Foundation
import Testing
@testable import NetcTrain

/// A fresh, empty directory under the system temp directory.
func makeTempDir(_ tag: String = #function) throws -> String {
    let safe = tag.filter { $0.isLetter || $0.isNumber }
    let dir = FileManager.default.temporaryDirectory
        .appendingPathComponent("netc-\(safe)-\(UUID().uuidString)").path
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    return dir
}

func writeBytes(_ bytes: [UInt8], _ path: String) throws {
    try Data(bytes).write(to: URL(fileURLWithPath: path))
}

func appendBytes(_ bytes: [UInt8], _ path: String) throws {
    let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
    defer { try? handle.close() }
    try handle.seekToEnd()
    try handle.write(contentsOf: Data(bytes))
}

@Suite struct GzipTests {
    @Test func roundTripThroughZlib() throws {
        let input = (0..<100_000).map { UInt8(truncatingIfNeeded: $0 * 7 / 3) }
        let gz = try Gzip.compress(input)
        #expect(gz[0] == 0x1f && gz[1] == 0x8b && gz[2] == 8)  // gzip, deflate method
        #expect(Gzip.isGzip(gz))
        #expect(try Gzip.decompress(gz, source: "x") == input)
    }

    @Test func concatenatedMembers() throws {
        let a: [UInt8] = Array("hello ".utf8), b: [UInt8] = Array("world".utf8)
        let gz = try Gzip.compress(a) + Gzip.compress(b)
        #expect(try Gzip.decompress(gz, source: "x") == a + b)
    }

    @Test func truncatedAndCorruptAreErrors() throws {
        let gz = try Gzip.compress(Array(repeating: 42, count: 5000) + (0..<255).map { UInt8($0) })
        let cut = Array(gz[..<(gz.count - 10)])
        let e1 = #expect(throws: DataFileError.self) { try Gzip.decompress(cut, source: "f.gz") }
        #expect(e1?.description.hasPrefix("f.gz: truncated gzip data") == true)

        var bad = gz
        bad[bad.count - 6] ^= 0xff  // CRC-32 trailer byte
        let e2 = #expect(throws: DataFileError.self) { try Gzip.decompress(bad, source: "f.gz") }
        #expect(e2?.description == "f.gz: corrupt gzip data: incorrect data check")
    }

    @Test func outputIsBounded() throws {
        let gz = try Gzip.compress(Array(repeating: 0, count: 1 << 20))
        let e = #expect(throws: DataFileError.self) {
            try Gzip.decompress(gz, source: "bomb.gz", maxOutputBytes: 100_000)
        }
        #expect(e?.message == "decompressed data exceeds the limit of 100000 bytes")
    }
}

@Suite struct IDXTests {
    /// 3 images of 2×4 and their labels, written gzip-compressed.
    func writeSmallDataset(_ dir: String, gzip: Bool) throws -> ([UInt8], [UInt8]) {
        let pixels = (0..<24).map { UInt8($0 * 10) }
        let labels: [UInt8] = [3, 0, 9]
        let img = IDX.encode(dims: [3, 2, 4], bytes: pixels)
        let lab = IDX.encode(dims: [3], bytes: labels)
        let sfx = gzip ? ".gz" : ""
        try writeBytes(gzip ? Gzip.compress(img) : img, "\(dir)/t10k-images-idx3-ubyte\(sfx)")
        try writeBytes(gzip ? Gzip.compress(lab) : lab, "\(dir)/t10k-labels-idx1-ubyte\(sfx)")
        return (pixels, labels)
    }

    @Test func encodedHeaderIsBigEndian() {
        let img = IDX.encode(dims: [3, 2, 4], bytes: Array(repeating: 0, count: 24))
        #expect(Array(img[0..<16]) == [0, 0, 8, 3, 0, 0, 0, 3, 0, 0, 0, 2, 0, 0, 0, 4])
    }

    @Test(arguments: [true, false]) func smallFileRoundTrip(gzip: Bool) throws {
        let dir = try makeTempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let (pixels, labels) = try writeSmallDataset(dir, gzip: gzip)
        let ds = try IDXDataset.load(directory: dir, split: .test)
        #expect(ds.count == 3 && ds.height == 2 && ds.width == 4)
        #expect(ds.images == pixels)
        #expect(ds.labels == labels)
        #expect(Array(ds.image(1)) == Array(pixels[8..<16]))
    }

    @Test func realFashionMNISTTestSet() throws {
        let dir = IDXDataset.defaultDirectory
        guard FileManager.default.fileExists(atPath: dir) else {
            Issue.record("skipped: \(dir) absent (sudo apt-get install dataset-fashion-mnist)",
                         severity: .warning)
            return
        }
        let ds = try IDXDataset.load(split: .test)
        #expect(ds.count == 10_000)
        #expect(ds.height == 28 && ds.width == 28)
        #expect(ds.images.count == 10_000 * 784)
        #expect(ds.labelHistogram() == Array(repeating: 1000, count: 10))
        // First t10k label in Fashion-MNIST is 9 (ankle boot), then 2, 1, 1.
        #expect(Array(ds.labels.prefix(4)) == [9, 2, 1, 1])
    }

    @Test func missingFileInDefaultDirectoryHasAptHint() throws {
        let e = #expect(throws: DataFileError.self) {
            try IDXDataset.locate(directory: IDXDataset.defaultDirectory, name: "no-such-idx3-ubyte")
        }
        #expect(e?.description ==
            "/usr/share/datasets/fashion-mnist/no-such-idx3-ubyte.gz: missing dataset file "
            + "(looked for no-such-idx3-ubyte and no-such-idx3-ubyte.gz in /usr/share/datasets/fashion-mnist); "
            + "install it with: sudo apt-get install dataset-fashion-mnist")
    }

    @Test func missingFileElsewhereHasNoHint() throws {
        let dir = try makeTempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let e = #expect(throws: DataFileError.self) { try IDXDataset.load(directory: dir, split: .train) }
        #expect(e?.message.hasPrefix("missing dataset file (looked for train-images-idx3-ubyte") == true)
        #expect(e?.message.contains("apt-get") == false)
    }

    @Test func badMagicSaysExpectedAndGot() throws {
        let dir = try makeTempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        _ = try writeSmallDataset(dir, gzip: true)
        // Swap the two files' roles: labels file read as images.
        let path = "\(dir)/t10k-labels-idx1-ubyte.gz"
        let e = #expect(throws: DataFileError.self) { try IDX.readFile(path, expectedMagic: IDX.imagesMagic) }
        #expect(e?.description ==
            "\(path): bad IDX magic number: expected 0x00000803 (uint8 images N×rows×cols), got 0x00000801")
    }

    @Test func truncatedGzipNamesTheFile() throws {
        let dir = try makeTempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        _ = try writeSmallDataset(dir, gzip: true)
        let path = "\(dir)/t10k-images-idx3-ubyte.gz"
        let full = try BinaryFile.read(path)
        try writeBytes(Array(full.prefix(full.count / 2)), path)
        let e = #expect(throws: DataFileError.self) { try IDXDataset.load(directory: dir, split: .test) }
        #expect(e?.source == path)
        #expect(e?.message.hasPrefix("truncated gzip data") == true)
    }

    @Test func dimsNotMatchingSizeAndTruncatedRaw() throws {
        var img = IDX.encode(dims: [3, 2, 4], bytes: Array(repeating: 1, count: 24))
        img.removeLast(5)
        let e = #expect(throws: DataFileError.self) {
            try IDX.decode(img, expectedMagic: IDX.imagesMagic, source: "a.idx")
        }
        #expect(e?.description ==
            "a.idx: dimensions 3×2×4 need 24 data bytes after the 16-byte header, but the file has 19 (truncated?)")
        let e2 = #expect(throws: DataFileError.self) {
            try IDX.decode([0, 0, 8, 3, 0, 0], expectedMagic: IDX.imagesMagic, source: "b.idx")
        }
        #expect(e2?.message == "file is truncated: 6 bytes, but the header of a rank-3 IDX array needs 16")
    }

    @Test func labelCountMismatchAndLabelRange() throws {
        let dir = try makeTempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        _ = try writeSmallDataset(dir, gzip: false)
        let labPath = "\(dir)/t10k-labels-idx1-ubyte"
        try writeBytes(IDX.encode(dims: [2], bytes: [1, 2]), labPath)
        let e = #expect(throws: DataFileError.self) { try IDXDataset.load(directory: dir, split: .test) }
        #expect(e?.description ==
            "\(labPath): label count 2 does not match image count 3 in \(dir)/t10k-images-idx3-ubyte")

        try writeBytes(IDX.encode(dims: [3], bytes: [1, 12, 2]), labPath)
        let e2 = #expect(throws: DataFileError.self) { try IDXDataset.load(directory: dir, split: .test) }
        #expect(e2?.description == "\(labPath): label 12 at index 1 is out of range (expected 0...9)")
    }
}
