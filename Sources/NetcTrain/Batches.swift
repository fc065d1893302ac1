import Foundation

/// A minibatch ready for the network: `images` in NCHW order (C = 1) with
/// values in [0, 1], and one class index per image.
public struct ImageBatch: Sendable, Equatable {
    public var images: [Float]
    public var labels: [Int32]
    /// `[N, 1, H, W]`.
    public var shape: [Int]
}

/// Turns dataset indices into float minibatches: `pixel / 255` like
/// torchvision's `ToTensor`, then an optional bilinear resize to S×S
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
        /// `ToTensor`, so its inputs lie on the 1/255 grid.
        case uint8
    }

    public let dataset: IDXDataset
    public let outHeight: Int
    public let outWidth: Int
    public let rounding: Rounding
    let resizer: BilinearResizer?

    /// - Parameter resizeTo: output side S, or nil to keep the native size.
    public init(dataset: IDXDataset, resizeTo: Int? = nil, rounding: Rounding = .none) {
        self.dataset = dataset
        self.outHeight = resizeTo ?? dataset.height
        self.outWidth = resizeTo ?? dataset.width
        self.rounding = rounding
        if outHeight == dataset.height && outWidth == dataset.width {
            resizer = nil
        } else {
            resizer = BilinearResizer.cached(inHeight: dataset.height, inWidth: dataset.width,
                                             outHeight: outHeight, outWidth: outWidth)
        }
    }

    /// Shape of one sample, `[1, H, W]`.
    public var sampleShape: [Int] { [1, outHeight, outWidth] }

    /// Writes the batch for `indices` into caller-owned buffers (so a
    /// training loop can reuse one allocation per step).
    ///
    /// - Precondition: every index is in `0..<dataset.count`;
    ///   `images.count >= indices.count*H*W`, `labels.count >= indices.count`.
    public func fill<C: Collection>(indices: C, images: UnsafeMutableBufferPointer<Float>,
                                    labels: UnsafeMutableBufferPointer<Int32>) where C.Element == Int {
        let ih = dataset.height, iw = dataset.width, inPixels = ih * iw
        let outPixels = outHeight * outWidth
        precondition(images.count >= indices.count * outPixels && labels.count >= indices.count,
                     "ImageBatcher.fill: output buffers too small")
        // With .uint8 rounding the resize runs on raw 0...255 values.
        let normalizeFirst = rounding == .none
        var plane = [Float](repeating: 0, count: inPixels)
        dataset.images.withUnsafeBufferPointer { src in
            plane.withUnsafeMutableBufferPointer { pl in
                for (n, idx) in indices.enumerated() {
                    precondition(idx >= 0 && idx < dataset.count, "ImageBatcher: index \(idx) out of range")
                    labels[n] = Int32(dataset.labels[idx])
                    let dst = UnsafeMutableBufferPointer(rebasing: images[n * outPixels ..< (n + 1) * outPixels])
                    let px = src.baseAddress! + idx * inPixels
                    guard let resizer else {
                        for i in 0..<inPixels { dst[i] = Float(px[i]) / 255 }
                        continue
                    }
                    // Division (not multiplication by 1/255) matches ToTensor bit-for-bit.
                    for i in 0..<inPixels { pl[i] = normalizeFirst ? Float(px[i]) / 255 : Float(px[i]) }
                    resizer.resize(UnsafeBufferPointer(pl), into: dst, planes: 1)
                    if rounding == .uint8 {
                        for i in 0..<outPixels { dst[i] = min(max(dst[i].rounded(), 0), 255) / 255 }
                    }
                }
            }
        }
    }

    /// Allocates and returns the batch for `indices`.
    public func batch<C: Collection>(indices: C) -> ImageBatch where C.Element == Int {
        let n = indices.count
        var images = [Float](repeating: 0, count: n * outHeight * outWidth)
        var labels = [Int32](repeating: 0, count: n)
        images.withUnsafeMutableBufferPointer { im in
            labels.withUnsafeMutableBufferPointer { lb in fill(indices: indices, images: im, labels: lb) }
        }
        return ImageBatch(images: images, labels: labels, shape: [n, 1, outHeight, outWidth])
    }
}
