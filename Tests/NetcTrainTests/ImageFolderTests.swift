import Foundation
import NetcIR
import Testing
@testable import NetcTrain

/// Image folders read as torchvision's ImageFolder reads them, from PNG and JPEG files in
/// `Tests/Data/images` (written by PIL): classes are the sorted folder names, gray images
/// repeat into RGB, colour for a grayscale network is refused, mixed sizes are resized.
@Suite struct ImageFolderTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Data/images").path

    @Test func classesAreTheSortedFoldersAndPixelsArePreserved() throws {
        #expect(DatasetFormats.format(of: Self.root).name == "folder")
        let train = try ImageFolderFormat.load(Self.root, split: .train, input: .map(1, 4, 6))
        #expect(train.labels == [0, 0, 1] && train.channels == 1 && train.height == 4 && train.width == 6)
        guard case .bytes(let pixels) = train.pixels else { Issue.record("8-bit images are kept as bytes"); return }
        #expect(Array(pixels[0..<3]) == [10, 11, 12] && pixels[24] == 40 && pixels[48 + 23] == 123)
        let test = try ImageFolderFormat.load(Self.root, split: .test, input: .map(1, 4, 6))
        #expect(test.labels == [1], "shirt is class 1 in both splits")
    }

    @Test func colourIsRefusedForAGrayscaleNetworkAndGrayRepeatsIntoRGB() throws {
        let dir = "\(Self.root)/colour"
        let error = #expect(throws: TrainingError.self) { try ImageFolderFormat.load(dir, split: .train, input: .map(1, 4, 6)) }
        #expect(error?.description == """
            \(dir)/train/red/q.jpg is a colour image, but the network takes 1 channel
            help: set 'input: {channels: 3, ...}' in the spec to train on colour images
            """)
        // g.png (gray, 6x4), q.jpg (red over blue, 6x4) and small.png (3x2): sizes differ, so each
        // is resized to the network's 4x6.
        let train = try ImageFolderFormat.load(dir, split: .train, input: .map(3, 4, 6))
        #expect(train.count == 3 && train.channels == 3 && train.height == 4 && train.width == 6)
        guard case .bytes(let p) = train.pixels else { Issue.record("8-bit images are kept as bytes"); return }
        #expect(p[0] == 50 && p[24] == 50 && p[48] == 50, "gray repeated in R, G and B")
        let red = Array(p[72..<72 + 24]), blue = Array(p[72 + 48 ..< 72 + 72])
        #expect(red[0] > 240 && red[23] < 15 && blue[0] < 15 && blue[23] > 240, "JPEG: red top half, blue bottom half")
        #expect(p[144] == 0 && p[144 + 23] == 255, "small.png upsampled keeps its corners")
    }

    @Test func aFileThatIsNotAnImageSaysSo() {
        let error = #expect(throws: DataFileError.self) { try ImageFile(path: "\(Self.root)/broken.png", channels: 1) }
        #expect(error?.message.hasPrefix("cannot decode the image: ") == true, "\(error?.message ?? "")")
        let text = #expect(throws: DataFileError.self) { try ImageFile(path: #filePath, channels: 1) }
        #expect(text?.message == "cannot decode the image: not a PNG or JPEG file (its first bytes are neither's signature)")
    }
}
