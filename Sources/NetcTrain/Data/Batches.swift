import Foundation

/// A minibatch ready for the network: `images` in NCHW order, and one class index per image.
public struct ImageBatch: Sendable, Equatable {
    public var images: [Float]
    public var labels: [Int32]
    /// `[N, C, H, W]`.
    public var shape: [Int]
}

/// Turns dataset indices into float minibatches: 8-bit pixels divided by 255 like
/// torchvision's `ToTensor`, then an optional bilinear resize of every channel to S×S
/// (d2l's ResNet-18 on Fashion-MNIST uses S = 96).
///
/// Build one per (dataset, size) and reuse it; the interpolation taps are
/// computed once in its ``BilinearResizer``.
public struct ImageBatcher: Sendable {
    /// How resized pixels are produced.
    public enum Rounding: Sendable {
        /// `F.interpolate(x / 255, size, mode="bilinear", align_corners=False)`.
        case none
        /// Resize the 0...255 values, round to the nearest integer, then
        /// divide by 255. This approximates d2l's actual pipeline, which
        /// resizes the 8-bit PIL image (`transforms.Resize`) *before*
        /// `ToTensor`, so its inputs lie on the 1/255 grid. 8-bit data only.
        case uint8
    }

    public let dataset: ImageSet
    public let outHeight: Int
    public let outWidth: Int
    public let rounding: Rounding
    /// Crop, flip and normalisation after the resize.
    public let transforms: ImageTransforms
    let resizer: BilinearResizer?

    /// - Parameter resizeTo: output side S, or nil to keep the native size.
    public init(dataset: ImageSet, resizeTo: Int? = nil, rounding: Rounding = .none, transforms: ImageTransforms = .none) {
        self.dataset = dataset
        self.transforms = transforms
        self.outHeight = resizeTo ?? dataset.height
        self.outWidth = resizeTo ?? dataset.width
        if case .floats = dataset.pixels { precondition(rounding == .none, "ImageBatcher: .uint8 rounding needs 8-bit data") }
        self.rounding = rounding
        if outHeight == dataset.height && outWidth == dataset.width {
            resizer = nil
        } else {
            resizer = BilinearResizer.cached(inHeight: dataset.height, inWidth: dataset.width,
                                             outHeight: outHeight, outWidth: outWidth)
        }
    }

    /// Shape of one sample, `[C, H, W]`.
    public var sampleShape: [Int] { [dataset.channels, outHeight, outWidth] }

    /// Writes the batch for `indices` into caller-owned buffers (so a
    /// training loop can reuse one allocation per step).
    ///
    /// `epoch` draws the augmentation's crops and flips.
    ///
    /// - Precondition: every index is in `0..<dataset.count`;
    ///   `images.count >= indices.count*C*H*W`, `labels.count >= indices.count`.
    public func fill<C: Collection>(indices: C, images: UnsafeMutableBufferPointer<Float>,
                                    labels: UnsafeMutableBufferPointer<Int32>, epoch: Int = 0) where C.Element == Int {
        let channels = dataset.channels, outSize = channels * outHeight * outWidth
        precondition(images.count >= indices.count * outSize && labels.count >= indices.count,
                     "ImageBatcher.fill: output buffers too small")
        // With .uint8 rounding the resize runs on raw 0...255 values.
        let scaleFirst = rounding == .none
        var image = [Float](repeating: 0, count: max(dataset.imageSize, outSize))
        image.withUnsafeMutableBufferPointer { pl in
            for (n, idx) in indices.enumerated() {
                precondition(idx >= 0 && idx < dataset.count, "ImageBatcher: index \(idx) out of range")
                labels[n] = dataset.labels[idx]
                let dst = UnsafeMutableBufferPointer(rebasing: images[n * outSize ..< (n + 1) * outSize])
                if let resizer {
                    dataset.write(idx, scaled: scaleFirst, into: pl)
                    resizer.resize(UnsafeBufferPointer(pl), into: dst, planes: channels)
                    if rounding == .uint8 {
                        for i in 0..<outSize { dst[i] = min(max(dst[i].rounded(), 0), 255) / 255 }
                    }
                } else {
                    dataset.write(idx, scaled: true, into: dst)
                }
                if !transforms.isIdentity {
                    transforms.apply(dst, channels: channels, height: outHeight, width: outWidth, index: idx, epoch: epoch, scratch: pl)
                }
            }
        }
    }

    /// Allocates and returns the batch for `indices`.
    public func batch<C: Collection>(indices: C) -> ImageBatch where C.Element == Int {
        let n = indices.count
        var images = [Float](repeating: 0, count: n * sampleShape.reduce(1, *))
        var labels = [Int32](repeating: 0, count: n)
        images.withUnsafeMutableBufferPointer { im in
            labels.withUnsafeMutableBufferPointer { lb in fill(indices: indices, images: im, labels: lb) }
        }
        return ImageBatch(images: images, labels: labels, shape: [n] + sampleShape)
    }
}
