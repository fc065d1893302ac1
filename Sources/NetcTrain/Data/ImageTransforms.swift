import NetcIR
import NetcRuntime
import NetcSpec

/// What the batcher does to each image after resizing it: the training set's random crop and
/// flip, then every split's per-channel normalisation (torchvision's `RandomCrop`,
/// `RandomHorizontalFlip`, `Normalize`, in that order).
public struct ImageTransforms: Sendable {
    public var augment: TrainSpec.Augmentation?
    /// Per channel.
    public var mean: [Float], std: [Float]
    /// Seeds the augmentation: with the epoch and the image's index in the dataset, it fixes each
    /// image's crop and flip, whatever the batch size, order or a resume.
    public var seed: Int

    public static let none = ImageTransforms(augment: nil, mean: [], std: [], seed: 0)

    public init(augment: TrainSpec.Augmentation?, mean: [Float], std: [Float], seed: Int) {
        (self.augment, self.mean, self.std, self.seed) = (augment, mean, std, seed)
    }

    var isIdentity: Bool { augment == nil && mean.isEmpty }

    /// Transforms image `index` of the dataset, `[C][H][W]` in `image`, for `epoch`; `scratch`
    /// holds at least one image.
    func apply(_ image: UnsafeMutableBufferPointer<Float>, channels: Int, height: Int, width: Int,
               index: Int, epoch: Int, scratch: UnsafeMutableBufferPointer<Float>) {
        if let augment {
            var rng = SplitMix64(seed: Self.hash(seed) ^ Self.hash(~epoch) &+ Self.hash(index))
            let p = augment.cropPadding
            if p > 0 {
                // The window's top-left corner in the padded image, as RandomCrop draws it.
                let top = Int(rng.next() % UInt64(2 * p + 1)) - p, left = Int(rng.next() % UInt64(2 * p + 1)) - p
                _ = scratch.update(fromContentsOf: image)
                for c in 0..<channels {
                    for y in 0..<height {
                        let row = image.baseAddress! + (c * height + y) * width, sy = y + top
                        for x in 0..<width {
                            let sx = x + left
                            row[x] = sy >= 0 && sy < height && sx >= 0 && sx < width ? scratch[(c * height + sy) * width + sx] : 0
                        }
                    }
                }
            }
            if augment.flip, rng.next() & 1 == 1 {
                for r in 0..<channels * height {
                    var row = UnsafeMutableBufferPointer(rebasing: image[r * width ..< (r + 1) * width])
                    row.reverse()
                }
            }
        }
        if !mean.isEmpty {
            let plane = height * width
            for c in 0..<channels {
                let (m, s) = (mean[c], std[c])
                for k in c * plane ..< (c + 1) * plane { image[k] = (image[k] - m) / s }
            }
        }
    }

    private static func hash(_ value: Int) -> UInt64 { var mixer = SplitMix64(seed: UInt64(bitPattern: Int64(value))); return mixer.next() }
}

extension ImageSet {
    /// Each channel's mean and standard deviation over every image, scaled as the network takes
    /// them (before any resize): what `normalize: computed` divides by.
    public func channelStatistics() -> (mean: [Float], std: [Float]) {
        var sum = [Double](repeating: 0, count: channels), squares = sum
        let plane = height * width
        var image = [Float](repeating: 0, count: imageSize)
        image.withUnsafeMutableBufferPointer { buf in
            for i in 0..<count {
                write(i, scaled: true, into: buf)
                for c in 0..<channels {
                    var s = 0.0, q = 0.0
                    for k in c * plane ..< (c + 1) * plane { let v = Double(buf[k]); s += v; q += v * v }
                    sum[c] += s
                    squares[c] += q
                }
            }
        }
        let n = Double(count * plane)
        let mean = sum.map { $0 / n }
        let std = zip(squares, mean).map { q, m in (max(q / n - m * m, 0)).squareRoot() }
        return (mean.map(Float.init), std.map { Float(max($0, 1e-12)) })
    }
}

extension TrainSpec.Normalization {
    /// The mean and std to divide by for `train`'s images: measured for `computed`. Throws when
    /// the given ones are not one per channel of the data.
    public func values(for train: ImageSet, source: String) throws -> (mean: [Float], std: [Float]) {
        switch self {
        case .computed:
            return train.channelStatistics()
        case .given(let mean, let std):
            guard mean.count == train.channels, std.count == train.channels else {
                throw TrainingError("the recipe normalises \(mean.count) channel(s), but \(source) has \(train.channels)",
                                    help: "give 'normalize: {mean: [...], std: [...]}' one value per channel, or 'normalize: computed'")
            }
            return (mean.map(Float.init), std.map(Float.init))
        }
    }
}
