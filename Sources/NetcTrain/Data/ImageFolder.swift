import Dispatch
import Foundation
import NetcIR

/// Images in folders, one per class, under `train/` and `test/` (torchvision's `ImageFolder`):
/// the class of an image is its folder's index among the training set's folders in sorted order,
/// so both splits number the classes alike. PNG and JPEG files are decoded to the network's
/// channels (a grayscale image is repeated into RGB; a colour one for a grayscale network is
/// refused); when their sizes differ, each is resized to the network's input, bilinearly, and
/// rounded to 8 bits as `transforms.Resize` on an 8-bit image gives.
enum ImageFolderFormat: DatasetFormat {
    static let name = "folder"
    static let files = "train/<class>/<image>.png (or .jpg, .jpeg) and test/<class>/..., one folder per class"
    static let extensions: Set<String> = ["png", "jpg", "jpeg"]

    static func subdirectories(_ path: String) -> [String] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []
        return names.filter { name in
            var isDirectory: ObjCBool = false
            return !name.hasPrefix(".") && FileManager.default.fileExists(atPath: "\(path)/\(name)", isDirectory: &isDirectory) && isDirectory.boolValue
        }.sorted()
    }

    static func recognizes(_ directory: String) -> Bool { !subdirectories("\(directory)/train").isEmpty }

    static func load(_ directory: String, split: DatasetSplit, input: Shape) throws -> ImageSet {
        let classes = subdirectories("\(directory)/train"), root = "\(directory)/\(split.rawValue)"
        if let stray = subdirectories(root).first(where: { !classes.contains($0) }) {
            throw DataFileError(source: "\(root)/\(stray)", message: "is a class the training set (\(directory)/train) does not have")
        }
        var files: [(path: String, label: Int32)] = []
        for (label, name) in classes.enumerated() {
            let folder = "\(root)/\(name)"
            let names = ((try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []).sorted()
            for file in names where extensions.contains(URL(fileURLWithPath: file).pathExtension.lowercased()) {
                files.append(("\(folder)/\(file)", Int32(label)))
            }
        }
        let channels = input.channels
        guard channels == 1 || channels == 3 else {
            throw TrainingError("the network takes \(channels)-channel images; image files decode to 1 (gray) or 3 (RGB)",
                                help: "set 'input: {channels: 1, ...}' or 'channels: 3'")
        }
        // Decoded on every core; each slot has one writer.
        var decoded = [Result<ImageFile, Error>?](repeating: nil, count: files.count)
        decoded.withUnsafeMutableBufferPointer { slots in
            let out = UnsafeSendable(slots)
            DispatchQueue.concurrentPerform(iterations: files.count) { i in
                out.value[i] = Result { try ImageFile(path: files[i].path, channels: channels) }
            }
        }
        return try ImageSet(try decoded.map { try $0!.get() }, paths: files.map(\.path), labels: files.map(\.label),
                            input: input, keepingACommonSize: true)
    }
}

extension ImageSet {
    /// Decoded images as one set for a network whose input is `input`: a colour image for a
    /// grayscale network is refused; images are resized to the input's size (bilinearly, rounded to
    /// 8 bits as `transforms.Resize` on an 8-bit image gives), unless they share a size and
    /// `keepingACommonSize` (the batcher then resizes them, in floats).
    public init(_ images: [ImageFile], paths: [String], labels: [Int32], input: Shape, keepingACommonSize: Bool) throws {
        let channels = input.channels
        if channels == 1, let k = images.firstIndex(where: \.isColour) {
            throw TrainingError("\(paths[k]) is a colour image, but the network takes 1 channel",
                                help: "a network for colour images declares 'input: {channels: 3, ...}'")
        }
        let sameSize = images.allSatisfy { $0.height == images.first?.height && $0.width == images.first?.width }
        let (height, width) = keepingACommonSize && sameSize
            ? (images.first?.height ?? input.height, images.first?.width ?? input.width) : (input.height, input.width)
        var pixels: [UInt8] = []
        pixels.reserveCapacity(images.count * channels * height * width)
        for image in images {
            if image.height == height && image.width == width {
                pixels += image.pixels
            } else {
                let resized = BilinearResizer.cached(inHeight: image.height, inWidth: image.width, outHeight: height, outWidth: width)
                    .resize(image.pixels.map(Float.init), planes: channels)
                pixels += resized.map { UInt8(min(max($0.rounded(), 0), 255)) }
            }
        }
        try self.init(pixels: .bytes(pixels), labels: labels, channels: channels, height: height, width: width,
                      source: paths.first ?? "<images>")
    }
}

/// A value handed to concurrent work whose safety the caller ensures (disjoint writes).
struct UnsafeSendable<T>: @unchecked Sendable {
    let value: T
    init(_ value: T) { self.value = value }
}
