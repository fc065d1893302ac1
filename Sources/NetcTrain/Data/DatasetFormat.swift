import NetcIR

/// Which part of a dataset: the images trained on, or those held out to evaluate.
public enum DatasetSplit: String, Sendable {
    case train
    case test
}

/// A way datasets are stored on disk: how to recognise a directory of them and read a split.
/// Adding one is a file that conforms and an entry in `DatasetFormats.all`.
public protocol DatasetFormat {
    /// Its short name: `idx`, `cifar`, `npy`, `folder`.
    static var name: String { get }
    /// The files a directory of this format holds, for error messages.
    static var files: String { get }
    /// Whether `directory` holds this format's files.
    static func recognizes(_ directory: String) -> Bool
    /// Reads `split` from `directory` for a network whose input is `input` (`[C, H, W]`): formats
    /// of fixed-size arrays ignore it; image files are decoded to its channels and, when their
    /// sizes differ, resized to its size.
    static func load(_ directory: String, split: DatasetSplit, input: Shape) throws -> ImageSet
}

/// The formats netc reads.
public enum DatasetFormats {
    public static let all: [DatasetFormat.Type] = [IDXFormat.self, CIFARFormat.self, NPYFormat.self, ImageFolderFormat.self]

    /// The format of the files in `directory`: the first that recognises them, else IDX, whose
    /// reader says which file is missing (and how to install Fashion-MNIST, for its directory).
    static func format(of directory: String) -> DatasetFormat.Type {
        all.first { $0.recognizes(directory) } ?? IDXFormat.self
    }

    /// Loads `split` from `directory` to train or evaluate `graph`: an empty split is refused (it
    /// would report a loss of 0 and an accuracy of 0 for nothing), and so are images with another
    /// channel count than the network's input and labels it has no class for.
    public static func load(_ directory: String, split: DatasetSplit, for graph: Graph) throws -> ImageSet {
        let format = format(of: directory)
        let data = try format.load(directory, split: split, input: graph.inputShape)
        let name = "the \(split == .train ? "training" : "test") set in \(directory)"
        guard data.count > 0 else {
            throw TrainingError("\(name) has no images", help: "give --data a directory that holds images: \(format.files)")
        }
        let channels = graph.inputShape.channels
        guard data.channels == channels else {
            throw TrainingError("\(graph.name) takes \(channels)-channel images, but \(name) has \(data.channels) channel(s)",
                                help: "set 'input: {channels: \(data.channels), ...}' in the spec to train on this data")
        }
        try ClassLabels.check(data, fits: graph, source: name)
        return data
    }
}
