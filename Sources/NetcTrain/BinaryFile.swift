import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Whole-file reads and crash-safe whole-file writes, on plain POSIX calls
/// so that errors carry `strerror` text rather than opaque Cocoa codes.
public enum BinaryFile {
    /// True if `path` exists and is a regular file (or a link to one).
    public static func exists(_ path: String) -> Bool {
        var st = stat()
        return stat(path, &st) == 0 && (st.st_mode & S_IFMT) == S_IFREG
    }

    /// Reads the complete contents of `path`.
    public static func read(_ path: String) throws -> [UInt8] {
        // O_NONBLOCK: opening a FIFO would otherwise wait for a writer forever, before the
        // check below could refuse it; on a regular file it changes nothing.
        let fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)
        guard fd >= 0 else { throw DataFileError(source: path, message: "cannot open: \(errnoText())") }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else {
            throw DataFileError(source: path, message: "cannot stat: \(errnoText())")
        }
        guard (st.st_mode & S_IFMT) == S_IFREG else {
            throw DataFileError(source: path, message: "not a regular file")
        }
        let size = Int(st.st_size)
        var bytes = [UInt8](repeating: 0, count: size)
        var got = 0
        try bytes.withUnsafeMutableBytes { buf in
            while got < size {
                let n = Glibc.read(fd, buf.baseAddress! + got, size - got)
                if n < 0 {
                    if errno == EINTR { continue }
                    throw DataFileError(source: path, message: "read failed: \(errnoText())")
                }
                if n == 0 { break }  // file shrank while reading
                got += n
            }
        }
        if got < size { bytes.removeSubrange(got...) }
        return bytes
    }

    /// Writes a file so that, at every instant, `path` holds either its old
    /// contents or the complete new contents — never a prefix.
    ///
    /// The bytes go to a uniquely named temporary file in the same directory
    /// (so the final `rename` stays within one file system and is atomic),
    /// which is `fsync`ed before being renamed over `path`; the directory is
    /// then `fsync`ed so the rename itself survives a power loss. On any
    /// error the temporary file is removed. A SIGKILL mid-write can leave a
    /// stray `.<name>.tmp-*` file but never a damaged `path`.
    ///
    /// - Parameter body: called with a writer; each call appends bytes. This
    ///   lets large checkpoints stream out without one big concatenation.
    public static func writeAtomically(_ path: String,
                                       _ body: (_ write: (UnsafeRawBufferPointer) throws -> Void) throws -> Void) throws {
        try checkReplaceable(path)
        let url = URL(fileURLWithPath: path)
        let dir = url.deletingLastPathComponent().path
        let tmp = dir + "/." + url.lastPathComponent + ".tmp-\(getpid())-\(UInt32.random(in: 0 ... .max))"
        let fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        guard fd >= 0 else {
            throw DataFileError(source: path, message: "cannot create temporary file \(tmp): \(errnoText())")
        }
        var fdOpen = true
        var committed = false
        defer {
            if fdOpen { close(fd) }
            if !committed { unlink(tmp) }
        }
        try body { chunk in
            if let failure = writeAll(fd, chunk) {
                throw DataFileError(source: path, message: "write to \(tmp) failed: \(failure)")
            }
        }
        guard fsync(fd) == 0 else {
            throw DataFileError(source: path, message: "fsync of \(tmp) failed: \(errnoText())")
        }
        fdOpen = false
        guard close(fd) == 0 else {
            throw DataFileError(source: path, message: "close of \(tmp) failed: \(errnoText())")
        }
        guard rename(tmp, path) == 0 else {
            throw DataFileError(source: path, message: "rename from \(tmp) failed: \(errnoText())")
        }
        committed = true
        // Best effort: persist the directory entry. Failure here does not
        // un-write the file, so it is not reported.
        let dfd = open(dir.isEmpty ? "." : dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if dfd >= 0 { _ = fsync(dfd); close(dfd) }
    }

    /// Refuses a destination that the final `rename` must not replace: renaming over
    /// `/dev/null` (as root) swaps the device for a regular file, for every process on the
    /// machine; over a directory it fails only after the whole file was written.
    static func checkReplaceable(_ path: String) throws {
        guard !path.isEmpty else {
            throw DataFileError(source: "''", message: "no file name given; name the file to write, e.g. out.npy")
        }
        var st = stat()
        guard stat(path, &st) == 0 else { return }   // a new file (a missing directory is reported on create)
        let kind: String
        switch st.st_mode & S_IFMT {
        case S_IFREG: return
        case S_IFDIR: throw DataFileError(source: path, message: "is a directory: name a file inside it")
        case S_IFCHR: kind = "a character device"
        case S_IFBLK: kind = "a block device"
        case S_IFIFO: kind = "a FIFO"
        case S_IFSOCK: kind = "a socket"
        default: kind = "not a regular file"
        }
        throw DataFileError(source: path, message: "is \(kind): netc writes a new file and renames it into place, "
                            + "which would replace it; give the path of a regular file")
    }

    /// Convenience: atomically writes one byte array.
    public static func writeAtomically(_ path: String, bytes: [UInt8]) throws {
        try writeAtomically(path) { write in
            try bytes.withUnsafeBytes { try write($0) }
        }
    }

    /// Writes all of `buffer` to `fd`, resuming after short writes and EINTR.
    /// Returns nil on success, else the operating system's reason.
    static func writeAll(_ fd: Int32, _ buffer: UnsafeRawBufferPointer) -> String? {
        var off = 0
        while off < buffer.count {
            let n = write(fd, buffer.baseAddress! + off, buffer.count - off)
            if n < 0 {
                if errno == EINTR { continue }
                return errnoText()
            }
            off += n
        }
        return nil
    }

    static func errnoText() -> String { String(cString: strerror(errno)) }
}
