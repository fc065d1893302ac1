import Foundation
import NetcIR
import NetcRuntime
import NetcSpec
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
            help: a network for colour images declares 'input: {channels: 3, ...}'
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
        // Found by fuzz-data: a 222-byte input claiming 21760x12294 pixels made an 800 MB allocation.
        let oversized = #expect(throws: DataFileError.self) { try ImageFile(path: "\(Self.root)/oversized.jpg", channels: 3) }
        #expect(oversized?.message == "cannot decode the image: its header claims 21760x12294 pixels (height x width), more than 221 bytes can hold: the file is truncated or damaged")
        let text = #expect(throws: DataFileError.self) { try ImageFile(path: #filePath, channels: 1) }
        #expect(text?.message == "cannot decode the image: not a PNG or JPEG file (its first bytes are neither's signature)")
    }

    /// `netc run` on image files: decoded, resized to the network's input, scaled and normalised
    /// as the checkpoint's recipe trained.
    @Test func imageFilesBecomeTheBatchTheNetworkTrainedOn() throws {
        let dir = try makeTempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let g = try TrainerTests.graph()
        let store = ParameterStore(graph: g)
        store.initialize(.xavier, seed: 1, graph: g)
        var options = TrainingOptions()
        (options.resize, options.normalize) = (8, .given(mean: [0.5], std: [0.25]))
        try Checkpoint.save(to: "\(dir)/w.safetensors", store: store, optimizer: nil, spec: TrainerTests.spec, options: options,
                            state: TrainingState())
        let evaluation = try Evaluation(compile: { Compiler.compile(source: TrainerTests.spec, file: "tiny.yaml", input: $0) },
                                        weights: "\(dir)/w.safetensors")
        let batch = try evaluation.batch(ofImages: ["\(Self.root)/train/boot/a.png", "\(Self.root)/test/shirt/z.png"])
        #expect(batch.count == 2 && batch.sampleShape == [1, 8, 8])
        // The corners survive the bilinear resize from 6x4: a.png's first pixel is 10, z.png's last 223.
        #expect(abs(batch.values[0] - (10 / 255 - 0.5) / 0.25) < 1e-6 && abs(batch.values[127] - (223 / 255 - 0.5) / 0.25) < 1e-6)
        #expect(try evaluation.logits(batch).count == 20)
    }
}
