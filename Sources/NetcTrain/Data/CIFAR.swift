import NetcIR

/// CIFAR-10 and CIFAR-100 in the binary format their authors distribute (the files users
/// download): records of a label byte (CIFAR-100: a coarse and a fine label byte; netc takes the
/// fine, 100 classes) and 3,072 pixel bytes, the red, green and blue 32x32 planes row by row.
/// CIFAR-10 splits its training set over `data_batch_1.bin` ... `data_batch_5.bin` and tests on
/// `test_batch.bin`; CIFAR-100 has `train.bin` and `test.bin`.
enum CIFARFormat: DatasetFormat {
    static let name = "cifar"
    static let files = "CIFAR-10's data_batch_1.bin ... data_batch_5.bin and test_batch.bin, or CIFAR-100's train.bin and test.bin"
    static let side = 32, channels = 3

    /// The files of `split`, and how many label bytes start each record.
    static func layout(_ directory: String, split: DatasetSplit) -> (files: [String], labelBytes: Int)? {
        if BinaryFile.exists("\(directory)/data_batch_1.bin") || BinaryFile.exists("\(directory)/test_batch.bin") {
            let train = (1...5).map { "\(directory)/data_batch_\($0).bin" }.filter(BinaryFile.exists)
            return (split == .train ? train : ["\(directory)/test_batch.bin"], 1)
        }
        if BinaryFile.exists("\(directory)/train.bin") || BinaryFile.exists("\(directory)/test.bin") {
            return (["\(directory)/\(split == .train ? "train" : "test").bin"], 2)
        }
        return nil
    }

    static func recognizes(_ directory: String) -> Bool { layout(directory, split: .train) != nil }

    static func load(_ directory: String, split: DatasetSplit, input: Shape) throws -> ImageSet {
        guard let (files, labelBytes) = layout(directory, split: split), !files.isEmpty else {
            throw DataFileError(source: directory, message: "no CIFAR \(split.rawValue) files (looked for \(files))")
        }
        let imageBytes = channels * side * side, record = labelBytes + imageBytes
        var pixels: [UInt8] = [], labels: [Int32] = []
        for file in files {
            guard BinaryFile.exists(file) else {
                throw DataFileError(source: file, message: "missing CIFAR file (the directory holds the other files of the format: \(self.files))")
            }
            let bytes = try BinaryFile.read(file)
            guard !bytes.isEmpty, bytes.count % record == 0 else {
                throw DataFileError(source: file, message: "\(bytes.count) bytes are not a whole number of \(record)-byte CIFAR records "
                                    + "(\(labelBytes) label byte\(labelBytes == 1 ? "" : "s") and \(imageBytes) pixels); the file is truncated or not CIFAR")
            }
            pixels.reserveCapacity(pixels.count + bytes.count / record * imageBytes)
            for start in stride(from: 0, to: bytes.count, by: record) {
                labels.append(Int32(bytes[start + labelBytes - 1]))
                pixels.append(contentsOf: bytes[start + labelBytes ..< start + record])
            }
        }
        return try ImageSet(pixels: .bytes(pixels), labels: labels, channels: channels, height: side, width: side,
                            source: files[0])
    }
}
