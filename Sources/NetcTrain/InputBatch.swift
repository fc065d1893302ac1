/// An NCHW float32 batch from a `.npy` file (`netc run`, `netc step`), checked where it enters:
/// an empty or wrongly shaped array is refused here with its file's name, rather than reaching
/// the interpreter's preconditions (an empty `[0, 1, 28, 28]` batch used to trap there) or being
/// blamed on the spec's `input:` line.
public struct InputBatch {
    public let values: [Float]
    /// N, the number of images.
    public let count: Int
    /// `[C, H, W]` of one image.
    public let sampleShape: [Int]
    /// The file it came from, for messages.
    public let source: String

    public init(_ array: NPYArray, source: String) throws {
        let shape = array.shape
        guard shape.count == 4 else {
            throw TrainingError("\(source) has shape \(shape); a batch of images is [N, C, H, W]",
                                help: "save the images as a 4-d float32 array, e.g. x.reshape(-1, 1, 28, 28)")
        }
        guard shape.allSatisfy({ $0 > 0 }) else {
            throw TrainingError("\(source) holds no images: its shape \(shape) has a zero", help: "save at least one image of at least 1x1 pixel")
        }
        // A NaN or infinite pixel makes every logit it reaches NaN, and `netc step` then wrote
        // NaN weights and exited 0.
        if let i = array.data.firstIndex(where: { !$0.isFinite }) {
            let (c, h, w) = (shape[1], shape[2], shape[3])
            throw TrainingError("\(source) holds \(array.data[i]) in image \(i / (c * h * w)) at channel \(i / (h * w) % c), row \(i / w % h), column \(i % w)",
                                help: "give finite pixel values (np.nan_to_num replaces NaN and infinities)")
        }
        values = array.data
        count = shape[0]
        sampleShape = Array(shape.dropFirst())
        self.source = source
    }

    /// Reads and checks a `.npy` file.
    public static func read(_ path: String) throws -> InputBatch {
        try InputBatch(NPY.read(path), source: path)
    }

    /// Throws unless the images have the channel count `network` takes.
    func check(channels: Int, network: String) throws {
        guard sampleShape[0] == channels else {
            throw TrainingError("\(source) holds images of \(sampleShape[0]) channel(s) (shape [\(count), \(sampleShape.map(String.init).joined(separator: ", "))]), but \(network) takes \(channels)",
                                help: "save the batch as [N, \(channels), H, W]")
        }
    }
}
