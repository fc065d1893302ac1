import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// One value in a metrics record.
public enum MetricValue: Sendable, Equatable, ExpressibleByIntegerLiteral,
                         ExpressibleByFloatLiteral, ExpressibleByStringLiteral {
    case int(Int)
    case double(Double)
    case string(String)

    public init(integerLiteral v: Int) { self = .int(v) }
    public init(floatLiteral v: Double) { self = .double(v) }
    public init(stringLiteral v: String) { self = .string(v) }

    /// The value as JSON text; non-finite doubles become `null`.
    public var json: String {
        switch self {
        case .int(let i): return String(i)
        case .double(let d): return JSON.number(d)
        case .string(let s): return JSON.quote(s)
        }
    }
}

/// An append-only JSON Lines log (`metrics.jsonl`): one JSON object per
/// line, keys in the order given.
///
/// Each record is written with a single `write(2)` on a descriptor opened
/// with `O_APPEND`, so it reaches the OS immediately (a crash loses at most
/// the record being written) and concurrent appenders never interleave
/// within a line. If the file ends in a partial line from an earlier
/// crash, a newline is added first so the new records stay parseable.
public final class MetricsLog: @unchecked Sendable {
    public let path: String
    private var fd: Int32
    private let lock = NSLock()
    /// The file's size in bytes: where the next record starts.
    public private(set) var length = 0

    /// Opens (creating if needed) the log at `path`.
    /// - Parameter truncate: start a fresh log instead of appending.
    public init(path: String, truncate: Bool = false) throws {
        self.path = path
        // O_NONBLOCK: a FIFO in its place blocked `--resume` in open(2) forever (no reader).
        fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NONBLOCK | (truncate ? O_TRUNC : 0), 0o644)
        guard fd >= 0 else {
            throw DataFileError(source: path, message: "cannot open metrics log: \(BinaryFile.errnoText())")
        }
        var st = stat()
        guard fstat(fd, &st) == 0 else {
            throw DataFileError(source: path, message: "cannot stat metrics log: \(BinaryFile.errnoText())")
        }
        length = Int(st.st_size)
        if !truncate, let last = Self.lastByte(path), last != UInt8(ascii: "\n") {
            try writeAll(Array("\n".utf8))
        }
    }

    deinit { if fd >= 0 { Glibc.close(fd) } }

    /// Closes the file; later appends throw.
    public func close() {
        lock.lock()
        defer { lock.unlock() }
        if fd >= 0 { Glibc.close(fd); fd = -1 }
    }

    /// The JSON object line (without newline) for `fields`.
    public static func line<S: Sequence>(_ fields: S) -> String where S.Element == (String, MetricValue) {
        "{" + fields.map { JSON.quote($0.0) + ":" + $0.1.json }.joined(separator: ",") + "}"
    }

    /// Appends one record, e.g. `log.append(["epoch": 1, "train_loss": 0.52])`.
    public func append(_ fields: KeyValuePairs<String, MetricValue>) throws {
        try append(fields.map { ($0.key, $0.value) })
    }

    /// Appends one record from ordered key/value pairs.
    public func append(_ fields: [(String, MetricValue)]) throws {
        try writeAll(Array((Self.line(fields) + "\n").utf8))
    }

    /// Cuts the log back to its first `newLength` bytes (records after a checkpoint that a resume
    /// will write again, or that a failed write left half done) and syncs it.
    public func truncate(to newLength: Int) throws {
        lock.lock()
        defer { lock.unlock() }
        guard fd >= 0 else { throw DataFileError(source: path, message: "metrics log is closed") }
        guard ftruncate(fd, off_t(newLength)) == 0, fsync(fd) == 0 else {
            throw DataFileError(source: path, message: "cannot cut metrics log back to \(newLength) bytes: \(BinaryFile.errnoText())")
        }
        length = newLength
    }

    /// Flushes the records to disk, so that a checkpoint written next never counts records a
    /// power loss could take away.
    public func sync() throws {
        lock.lock()
        defer { lock.unlock() }
        guard fd >= 0 else { throw DataFileError(source: path, message: "metrics log is closed") }
        guard fsync(fd) == 0 else {
            throw DataFileError(source: path, message: "fsync of metrics log failed: \(BinaryFile.errnoText())")
        }
    }

    private func writeAll(_ bytes: [UInt8]) throws {
        lock.lock()
        defer { lock.unlock() }
        guard fd >= 0 else { throw DataFileError(source: path, message: "metrics log is closed") }
        try bytes.withUnsafeBytes { buf in
            if let failure = BinaryFile.writeAll(fd, buf) {
                // A short write may have landed part of the record: stat the real size.
                var st = stat()
                if fstat(fd, &st) == 0 { length = Int(st.st_size) }
                throw DataFileError(source: path, message: "write to metrics log failed: \(failure)")
            }
        }
        length += bytes.count
    }

    private static func lastByte(_ path: String) -> UInt8? {
        let rfd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)
        guard rfd >= 0 else { return nil }
        defer { Glibc.close(rfd) }
        var b: UInt8 = 0
        guard lseek(rfd, -1, SEEK_END) >= 0, read(rfd, &b, 1) == 1 else { return nil }
        return b
    }
}
