/// A file that could not be read or written: which file, and what is wrong
/// with it.
///
/// `source` is the file path, or a label such as `<memory>` when the bytes
/// did not come from a file; `message` says what is wrong.
public struct DataFileError: Error, CustomStringConvertible, Equatable {
    public let source: String
    public let message: String

    public init(source: String, message: String) {
        self.source = source
        self.message = message
    }

    public var description: String { "\(source): \(message)" }
}
