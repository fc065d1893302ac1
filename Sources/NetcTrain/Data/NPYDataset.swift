import NetcIR

/// A dataset as NumPy arrays: `train_x.npy` and `test_x.npy`, float32 `[N, C, H, W]` images the
/// network takes as they are (no scaling), and `train_y.npy`, `test_y.npy`, `N` class indices
/// stored as float32 (as `netc step --labels` reads them).
enum NPYFormat: DatasetFormat {
    static let name = "npy"
    static let files = "train_x.npy, train_y.npy, test_x.npy and test_y.npy"

    static func recognizes(_ directory: String) -> Bool { BinaryFile.exists("\(directory)/train_x.npy") }

    static func load(_ directory: String, split: DatasetSplit, input: Shape) throws -> ImageSet {
        let xPath = "\(directory)/\(split.rawValue)_x.npy", yPath = "\(directory)/\(split.rawValue)_y.npy"
        let x = try NPY.read(xPath), y = try NPY.read(yPath)
        guard x.shape.count == 4 else {
            throw DataFileError(source: xPath, message: "has shape \(x.shape); images are [N, C, H, W]")
        }
        guard y.shape == [x.shape[0]] else {
            throw DataFileError(source: yPath, message: "has shape \(y.shape); \(xPath) holds \(x.shape[0]) image(s), so one label each: [\(x.shape[0])]")
        }
        if let i = x.data.firstIndex(where: { !$0.isFinite }) {
            throw DataFileError(source: xPath, message: "holds \(x.data[i]) at index \(i); images must be finite")
        }
        // Whole, non-negative class numbers; the network's class count is checked when loading for it.
        let labels = try ClassLabels.indices(y.data, classes: Int(Int32.max), source: yPath)
        return try ImageSet(pixels: .floats(x.data), labels: labels, channels: x.shape[1], height: x.shape[2], width: x.shape[3],
                            source: xPath)
    }
}
