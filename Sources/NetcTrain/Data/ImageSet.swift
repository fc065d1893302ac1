/// One split of a labelled image dataset, in memory, whatever format it came from: `count`
/// images of `channels`×`height`×`width`, image-major then channel planes (`[N][C][H][W]`).
public struct ImageSet: Sendable, Equatable {
    /// The pixels as stored on disk.
    public enum Pixels: Sendable, Equatable {
        /// 8-bit values, scaled by 1/255 on the way into the network (torchvision's `ToTensor`).
        case bytes([UInt8])
        /// Values the network takes as they are (a NumPy array the user prepared).
        case floats([Float])
    }

    public let pixels: Pixels
    /// Class index per image, each at least 0.
    public let labels: [Int32]
    public let count: Int
    public let channels: Int
    public let height: Int
    public let width: Int

    /// Checks that the pixels are a whole number of images, one per label, and that no label is
    /// negative; `source` names the data in errors.
    public init(pixels: Pixels, labels: [Int32], channels: Int, height: Int, width: Int, source: String) throws {
        guard channels > 0, height > 0, width > 0 else {
            throw DataFileError(source: source, message: "image shape \(channels)×\(height)×\(width) is empty")
        }
        let (perImage, overflow) = channels.multipliedReportingOverflow(by: height)
        let (size, overflow2) = perImage.multipliedReportingOverflow(by: width)
        guard !overflow, !overflow2, size <= Int(Int32.max) else {
            throw DataFileError(source: source, message: "image shape \(channels)×\(height)×\(width) is implausibly large")
        }
        let values = switch pixels { case .bytes(let b): b.count; case .floats(let f): f.count }
        guard values % size == 0, values / size == labels.count else {
            throw DataFileError(source: source, message:
                "\(values) pixel values are not \(labels.count) image(s) of \(channels)×\(height)×\(width), one per label")
        }
        if let bad = labels.firstIndex(where: { $0 < 0 }) {
            throw DataFileError(source: source, message: "label \(labels[bad]) at index \(bad) is negative")
        }
        (self.pixels, self.labels, self.count) = (pixels, labels, labels.count)
        (self.channels, self.height, self.width) = (channels, height, width)
    }

    /// Values per image.
    public var imageSize: Int { channels * height * width }

    /// Writes image `i`'s values, scaled as the network takes them, into `out` (`imageSize` floats).
    /// Division by 255, not multiplication by 1/255, matches `ToTensor` bit for bit.
    func write(_ i: Int, scaled: Bool, into out: UnsafeMutableBufferPointer<Float>) {
        let base = i * imageSize
        switch pixels {
        case .bytes(let b):
            b.withUnsafeBufferPointer { src in
                for k in 0..<imageSize { out[k] = scaled ? Float(src[base + k]) / 255 : Float(src[base + k]) }
            }
        case .floats(let f):
            f.withUnsafeBufferPointer { src in for k in 0..<imageSize { out[k] = src[base + k] } }
        }
    }
}
