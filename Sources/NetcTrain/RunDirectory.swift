import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A run directory held by this process: `netc.lock` in it stays `flock`ed while the object
/// lives, so two netc processes never write one run's checkpoint and metrics at once.
///
///     let run = try RunDirectory.createForNewRun("runs/tiny-20261124-120000")
///     try run.writeSpec(text)
///     try run.removingIfFailedBeforeCheckpoint { try Trainer(..., runDirectory: run.path).run() }
///
/// A new run gets a new (or empty) directory: an existing run is refused, never overwritten.
public final class RunDirectory {
    public let path: String
    /// Whether this process made the directory (a failed start then removes it, not just its files).
    let createdHere: Bool
    private var lockDescriptor: Int32

    public static let lockName = "netc.lock"
    public static let checkpointName = "checkpoint.safetensors"
    public static let specName = "spec.yaml"
    public static let metricsName = "metrics.jsonl"
    public static let curvesName = "curves.svg"
    /// The files a run writes; a failed start removes these and nothing else.
    static let runFileNames = [specName, metricsName, curvesName, checkpointName, lockName]

    public var checkpointPath: String { file(Self.checkpointName) }
    public var specPath: String { file(Self.specName) }

    private init(path: String, createdHere: Bool, lockDescriptor: Int32) {
        self.path = path
        self.createdHere = createdHere
        self.lockDescriptor = lockDescriptor
    }

    deinit { unlock() }

    /// Releases the lock (also released when the process ends, however it ends).
    public func unlock() {
        if lockDescriptor >= 0 { close(lockDescriptor); lockDescriptor = -1 }
    }

    public func file(_ name: String) -> String { (path as NSString).appendingPathComponent(name) }

    /// `runs/<name>-<UTC timestamp>` with `name` made safe as one path component.
    public static func defaultPath(forSpecNamed name: String, at date: Date = Date()) -> String {
        let f = DateFormatter()
        f.dateFormat = "yyyyMMdd-HHmmss"
        f.timeZone = TimeZone(identifier: "UTC")
        f.locale = Locale(identifier: "en_US_POSIX")
        return "runs/\(safeName(name))-\(f.string(from: date))"
    }

    /// A spec's name as a single directory name: letters, digits, `-`, `_` and `.` kept, anything
    /// else (slashes, newlines, spaces) becomes `_`, no leading dot (so never `..` or hidden),
    /// at most 100 characters, never empty. `../../x` becomes `_.._x`.
    public static func safeName(_ name: String) -> String {
        let kept = String(name.map { $0.isLetter || $0.isNumber || "-_.".contains($0) ? $0 : "_" }.prefix(100))
        let trimmed = String(kept.drop { $0 == "." })
        return trimmed.isEmpty ? "run" : trimmed
    }

    /// Creates (with its parents) and locks the directory of a new run. Refuses a directory that
    /// already holds anything, so an earlier run is never overwritten or mixed into.
    public static func createForNewRun(_ path: String) throws -> RunDirectory {
        // "" is the current directory to mkdir and stat, but lists as nothing: a run went into it.
        guard !path.isEmpty else { throw TrainingError("the run directory's path is empty", help: "give --out a directory path") }
        let created = try makeDirectory(path)
        // A directory that is not a run is refused before locking, so it gets no netc.lock; one
        // with a lock is checked after locking, so a run in progress says it is in use.
        if !created, !BinaryFile.exists((path as NSString).appendingPathComponent(lockName)) { try requireEmpty(path) }
        let run = try RunDirectory(path: path, createdHere: created, lockDescriptor: lock(path))
        // Another netc may have filled it between the check and the lock.
        if !created { try requireEmpty(path) }
        return run
    }

    /// Locks the directory of an existing run to continue it.
    public static func openForResume(_ path: String) throws -> RunDirectory {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw TrainingError("no run directory \(path)", help: "give the run directory that 'netc train' printed")
        }
        // Checked before locking, so a directory that is not a run gets no netc.lock, and again
        // after, since the run that held the lock may have removed its checkpoint meanwhile.
        try requireCheckpoint(path)
        let run = RunDirectory(path: path, createdHere: false, lockDescriptor: try lock(path))
        try requireCheckpoint(path)
        return run
    }

    static func requireCheckpoint(_ path: String) throws {
        guard BinaryFile.exists((path as NSString).appendingPathComponent(checkpointName)) else {
            throw TrainingError("\(path) has no \(checkpointName)", help: "give the run directory that 'netc train' printed")
        }
    }

    /// Writes the spec the run trains (atomically, like every file the run replaces).
    public func writeSpec(_ text: String) throws {
        try BinaryFile.writeAtomically(specPath, bytes: Array(text.utf8))
    }

    /// Runs `body` (the training); if it throws before any checkpoint exists, removes the run's
    /// files (and the directory, if this process made it) so a failed start leaves nothing that
    /// looks like a run. With a checkpoint, everything stays for `--resume`.
    public func removingIfFailedBeforeCheckpoint<T>(_ body: () throws -> T) throws -> T {
        do {
            return try body()
        } catch {
            if !BinaryFile.exists(checkpointPath) {
                for name in Self.runFileNames { unlink(file(name)) }
                unlock()
                if createdHere { rmdir(path) }  // only if empty: never removes anything else
            }
            throw error
        }
    }

    /// mkdir -p with the operating system's reason on failure; true if the last component is new.
    static func makeDirectory(_ path: String) throws -> Bool {
        var prefix = path.hasPrefix("/") ? "/" : ""
        let parts = path.split(separator: "/").map(String.init)
        for (i, part) in parts.enumerated() {
            prefix += (prefix.isEmpty || prefix.hasSuffix("/") ? "" : "/") + part
            if mkdir(prefix, 0o755) == 0 {
                if i == parts.count - 1 { return true }
                continue
            }
            let reason = errno
            var st = stat()
            if reason == EEXIST, stat(prefix, &st) == 0 {
                if (st.st_mode & S_IFMT) == S_IFDIR { continue }
                throw TrainingError("cannot create run directory \(path): \(prefix) exists and is not a directory",
                                    help: "give --out a directory path")
            }
            throw TrainingError("cannot create run directory \(path): \(describe(errno: reason))",
                                help: "give --out a directory where you can write")
        }
        return false
    }

    static func requireEmpty(_ path: String) throws {
        // A directory that cannot be listed is not known to be empty.
        let names: [String]
        do { names = try FileManager.default.contentsOfDirectory(atPath: path) } catch {
            throw TrainingError("cannot list \(path) to check that it is empty", help: "give --out a directory you can read")
        }
        if names.contains(checkpointName) {
            throw TrainingError("\(path) already holds a run (\(checkpointName)); training into it would overwrite its checkpoint and spec",
                                help: "continue it with --resume \(path), or give another --out")
        }
        if names.contains(specName) {
            throw TrainingError("\(path) holds a run that stopped before its first checkpoint (\(specName) but no \(checkpointName)), so there is nothing to resume",
                                help: "remove \(path), or give another --out")
        }
        if names.contains(where: { $0 != lockName }) {
            throw TrainingError("\(path) is not empty; a new run needs a new or empty directory",
                                help: "give another --out")
        }
    }

    /// Opens and exclusively locks `path/netc.lock` without waiting.
    static func lock(_ path: String) throws -> Int32 {
        let lockPath = (path as NSString).appendingPathComponent(lockName)
        let fd = open(lockPath, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else {
            throw TrainingError("cannot lock run directory \(path): cannot open \(lockPath): \(describe(errno: errno))",
                                help: "give a run directory where you can write")
        }
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
            let reason = errno
            close(fd)
            if reason == EWOULDBLOCK {
                throw TrainingError("\(path) is in use: another netc is training in it (it holds \(lockPath))",
                                    help: "wait for that run to finish, or give another --out")
            }
            throw TrainingError("cannot lock run directory \(path): \(describe(errno: reason))")
        }
        return fd
    }

    /// `strerror` in lower case, to read as part of a sentence: "read-only file system".
    static func describe(errno code: Int32) -> String {
        let text = String(cString: strerror(code))
        return text.prefix(1).lowercased() + text.dropFirst()
    }
}
