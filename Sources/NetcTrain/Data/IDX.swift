import Foundation
import NetcIR

/// Reader and writer for the IDX format used by MNIST and Fashion-MNIST
/// (http://yann.lecun.com/exdb/mnist/): a big-endian magic number
/// `0x0000 TT DD` (TT = element type, DD = number of dimensions), DD
/// big-endian 32-bit dimension sizes, then the elements in C order.
///
/// Only the unsigned-byte type (TT = 0x08) is supported, which is all the
/// (Fashion-)MNIST files use.
public enum IDX {
    /// Magic of a 3-D uint8 array: N images of rows × cols.
    public static let imagesMagic: UInt32 = 0x0000_0803
    /// Magic of a 1-D uint8 array: N labels.
    public static let labelsMagic: UInt32 = 0x0000_0801

    /// A decoded uint8 IDX array.
    public struct Array: Equatable, Sendable {
        public var dims: [Int]
        public var bytes: [UInt8]
    }

    /// Reads an IDX file, inflating it first if it is gzip-compressed (the
    /// gzip magic decides, not the file name).
    public static func readFile(_ path: String, expectedMagic: UInt32) throws -> Array {
        var raw = try BinaryFile.read(path)
        if Gzip.isGzip(raw) {
            raw = try Gzip.decompress(raw, source: path)
        }
        return try decode(raw, expectedMagic: expectedMagic, source: path)
    }

    /// Decodes uncompressed IDX bytes, checking the magic and that the
    /// product of the dimensions matches the payload size exactly.
    public static func decode(_ raw: [UInt8], expectedMagic: UInt32, source: String) throws -> Array {
        guard raw.count >= 4 else {
            throw DataFileError(source: source, message:
                "file is too short (\(raw.count) bytes) to hold an IDX header")
        }
        let magic = readBE32(raw, 0)
        guard magic == expectedMagic else {
            throw DataFileError(source: source, message:
                "bad IDX magic number: expected \(hex(expectedMagic)) (\(describe(expectedMagic))), got \(hex(magic))")
        }
        let rank = Int(magic & 0xff)
        let headerSize = 4 + 4 * rank
        guard raw.count >= headerSize else {
            throw DataFileError(source: source, message:
                "file is truncated: \(raw.count) bytes, but the header of a rank-\(rank) IDX array needs \(headerSize)")
        }
        var dims: [Int] = []
        var total = 1
        for d in 0..<rank {
            let size = Int(readBE32(raw, 4 + 4 * d))
            dims.append(size)
            let (p, overflow) = total.multipliedReportingOverflow(by: size)
            guard !overflow else {
                throw DataFileError(source: source, message: "dimensions \(dims) overflow")
            }
            total = p
        }
        let payload = raw.count - headerSize
        guard payload == total else {
            let shape = dims.map(String.init).joined(separator: "×")
            throw DataFileError(source: source, message:
                "dimensions \(shape) need \(total) data bytes after the \(headerSize)-byte header, but the file has \(payload)"
                + (payload < total ? " (truncated?)" : ""))
        }
        return Array(dims: dims, bytes: Swift.Array(raw[headerSize...]))
    }

    /// Encodes a uint8 array as IDX bytes (uncompressed). The rank is taken
    /// from `dims` and must agree with the low byte of the magic.
    public static func encode(dims: [Int], bytes: [UInt8]) -> [UInt8] {
        precondition(dims.reduce(1, *) == bytes.count, "IDX.encode: dims do not match byte count")
        var out: [UInt8] = []
        out.reserveCapacity(4 + 4 * dims.count + bytes.count)
        appendBE32(&out, 0x0000_0800 | UInt32(dims.count))
        for d in dims { appendBE32(&out, UInt32(d)) }
        out += bytes
        return out
    }

    static func readBE32(_ b: [UInt8], _ i: Int) -> UInt32 {
        UInt32(b[i]) << 24 | UInt32(b[i + 1]) << 16 | UInt32(b[i + 2]) << 8 | UInt32(b[i + 3])
    }

    static func appendBE32(_ out: inout [UInt8], _ v: UInt32) {
        out += [UInt8(v >> 24), UInt8(v >> 16 & 0xff), UInt8(v >> 8 & 0xff), UInt8(v & 0xff)]
    }

    static func hex(_ v: UInt32) -> String {
        let s = String(v, radix: 16)
        return "0x" + String(repeating: "0", count: max(0, 8 - s.count)) + s
    }

    static func describe(_ magic: UInt32) -> String {
        switch magic {
        case imagesMagic: return "uint8 images N×rows×cols"
        case labelsMagic: return "uint8 labels N"
        default: return "uint8 rank \(magic & 0xff)"
        }
    }
}

/// An image-classification dataset in the (Fashion-)MNIST IDX layout:
/// `count` grayscale images of `height`×`width` uint8 pixels stored
/// contiguously (image-major, then row-major) and one label per image.
public struct IDXDataset: Sendable, Equatable {
    /// Which pair of files to load: `train-*` or `t10k-*`.
    public enum Split: String, Sendable, CaseIterable {
        case train
        case test

        /// File-name prefix used by the MNIST distribution.
        public var filePrefix: String { self == .train ? "train" : "t10k" }
    }

    /// Where Debian's `dataset-fashion-mnist` package installs the data.
    public static let defaultDirectory = "/usr/share/datasets/fashion-mnist"

    /// Pixels, `count * height * width` bytes.
    public let images: [UInt8]
    /// Class index per image.
    public let labels: [UInt8]
    public let count: Int
    public let height: Int
    public let width: Int

    /// Creates a dataset after checking that the sizes agree and that every
    /// label is below `numClasses`.
    public init(images: [UInt8], labels: [UInt8], height: Int, width: Int,
                numClasses: Int = 10, source: String = "<memory>") throws {
        guard height > 0, width > 0 else {
            throw DataFileError(source: source, message: "image size \(height)×\(width) is empty")
        }
        let (pixels, overflow) = height.multipliedReportingOverflow(by: width)
        guard !overflow, pixels <= Int(Int32.max) else {
            throw DataFileError(source: source, message: "image size \(height)×\(width) is implausibly large")
        }
        guard images.count % pixels == 0 else {
            throw DataFileError(source: source, message:
                "\(images.count) pixel bytes are not a whole number of \(height)×\(width) images")
        }
        let n = images.count / pixels
        guard labels.count == n else {
            throw DataFileError(source: source, message:
                "label count \(labels.count) does not match image count \(n)")
        }
        if let bad = labels.firstIndex(where: { Int($0) >= numClasses }) {
            throw DataFileError(source: source, message:
                "label \(labels[bad]) at index \(bad) is out of range (expected 0...\(numClasses - 1))")
        }
        self.images = images
        self.labels = labels
        self.count = n
        self.height = height
        self.width = width
    }

    /// The pixels of image `i`.
    public func image(_ i: Int) -> ArraySlice<UInt8> {
        images[i * height * width ..< (i + 1) * height * width]
    }

    /// How many images carry each label (index = class).
    public func labelHistogram(numClasses: Int = 10) -> [Int] {
        var h = [Int](repeating: 0, count: numClasses)
        for l in labels where Int(l) < numClasses { h[Int(l)] += 1 }
        return h
    }

    /// Loads `<prefix>-images-idx3-ubyte[.gz]` and `<prefix>-labels-idx1-ubyte[.gz]`
    /// from `directory`, preferring the uncompressed name when both exist.
    public static func load(directory: String = defaultDirectory, split: Split,
                            numClasses: Int = 10) throws -> IDXDataset {
        let imagesPath = try locate(directory: directory, name: "\(split.filePrefix)-images-idx3-ubyte")
        let labelsPath = try locate(directory: directory, name: "\(split.filePrefix)-labels-idx1-ubyte")
        return try load(imagesPath: imagesPath, labelsPath: labelsPath, numClasses: numClasses)
    }

    /// Loads a dataset from an explicit pair of IDX files (gzip or raw).
    public static func load(imagesPath: String, labelsPath: String,
                            numClasses: Int = 10) throws -> IDXDataset {
        let imgs = try IDX.readFile(imagesPath, expectedMagic: IDX.imagesMagic)
        let labs = try IDX.readFile(labelsPath, expectedMagic: IDX.labelsMagic)
        let n = imgs.dims[0]
        guard labs.dims[0] == n else {
            throw DataFileError(source: labelsPath, message:
                "label count \(labs.dims[0]) does not match image count \(n) in \(imagesPath)")
        }
        // The images file's own fault, named as such (IDXDataset's checks name one source).
        guard imgs.dims[1] > 0, imgs.dims[2] > 0 else {
            throw DataFileError(source: imagesPath, message: "image size \(imgs.dims[1])×\(imgs.dims[2]) is empty")
        }
        return try IDXDataset(images: imgs.bytes, labels: labs.bytes,
                              height: imgs.dims[1], width: imgs.dims[2],
                              numClasses: numClasses, source: labelsPath)
    }

    /// Finds `name` or `name.gz` in `directory`, or explains what is missing.
    static func locate(directory: String, name: String) throws -> String {
        let dir = directory.hasSuffix("/") ? String(directory.dropLast()) : directory
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: dir, isDirectory: &isDirectory), !isDirectory.boolValue {
            throw TrainingError("\(dir) is a file, not a directory of IDX files",
                                help: "give the directory that holds train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz, t10k-images-idx3-ubyte.gz and t10k-labels-idx1-ubyte.gz (or the same without .gz)")
        }
        let raw = "\(dir)/\(name)"
        let gz = raw + ".gz"
        if BinaryFile.exists(raw) { return raw }
        if BinaryFile.exists(gz) { return gz }
        var message = "missing dataset file (looked for \(name) and \(name).gz in \(dir))"
        if URL(fileURLWithPath: dir).standardizedFileURL.path
            == URL(fileURLWithPath: defaultDirectory).standardizedFileURL.path {
            message += "; install it with: sudo apt-get install dataset-fashion-mnist"
        }
        throw DataFileError(source: gz, message: message)
    }
}

extension IDXDataset {
    /// The same images as one grayscale channel (the pixel bytes are shared, not copied).
    public var imageSet: ImageSet {
        // The sizes were checked when the dataset was made.
        try! ImageSet(pixels: .bytes(images), labels: labels.map(Int32.init), channels: 1, height: height, width: width,
                      source: "<IDX>")
    }
}

/// (Fashion-)MNIST's IDX files: `train-images-idx3-ubyte[.gz]`, `train-labels-idx1-ubyte[.gz]`,
/// `t10k-...` for the test split.
enum IDXFormat: DatasetFormat {
    static let name = "idx"
    static let files = "train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz, t10k-images-idx3-ubyte.gz and t10k-labels-idx1-ubyte.gz (or the same without .gz)"

    static func recognizes(_ directory: String) -> Bool {
        ["train-images-idx3-ubyte", "train-images-idx3-ubyte.gz"].contains { BinaryFile.exists("\(directory)/\($0)") }
    }

    static func load(_ directory: String, split: DatasetSplit, input: Shape) throws -> ImageSet {
        try IDXDataset.load(directory: directory, split: split == .train ? .train : .test, numClasses: ClassLabels.anyByte).imageSet
    }
}
