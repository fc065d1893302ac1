import Foundation
import Testing
@testable import NetcTrain

#if canImport(Glibc)
import Glibc
#endif

/// Output paths that the atomic write's final rename must not replace. `netc run --output
/// /dev/null`, run as root, once replaced /dev/null with a regular file for the whole machine;
/// a FIFO stands in for the device here, so that the test is harmless even where it fails.
@Suite struct OutputPathTests {
    @Test func aFIFOIsRefusedAndKept() throws {
        let dir = try makeTempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let fifo = dir + "/pipe"
        #expect(mkfifo(fifo, 0o644) == 0)
        let e = #expect(throws: DataFileError.self) { try NPY.write(NPYArray(shape: [2], data: [1, 2]), to: fifo) }
        #expect(e?.description == "\(fifo): is a FIFO: netc writes a new file and renames it into place, "
            + "which would replace it; give the path of a regular file")
        var st = stat()
        #expect(lstat(fifo, &st) == 0 && (st.st_mode & S_IFMT) == S_IFIFO)
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir) == ["pipe"])
    }

    @Test func aDirectoryIsRefusedBeforeAnythingIsWritten() throws {
        let dir = try makeTempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let e = #expect(throws: DataFileError.self) { try BinaryFile.writeAtomically(dir, bytes: [1, 2, 3]) }
        #expect(e?.description == "\(dir): is a directory: name a file inside it")
    }

    @Test func anEmptyPathIsRefused() throws {
        let e = #expect(throws: DataFileError.self) { try BinaryFile.writeAtomically("", bytes: [1]) }
        #expect(e?.description == "'': no file name given; name the file to write, e.g. out.npy")
    }

    /// Reading a FIFO (`--input`, `--weights`, `--labels`) once blocked in open(2) forever,
    /// waiting for a writer, before the regular-file check could refuse it.
    @Test func readingAFIFOIsRefusedAtOnce() throws {
        let dir = try makeTempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let fifo = dir + "/pipe"
        #expect(mkfifo(fifo, 0o644) == 0)
        let e = #expect(throws: DataFileError.self) { try BinaryFile.read(fifo) }
        #expect(e?.description == "\(fifo): not a regular file")
    }

    /// A FIFO in place of a run's metrics.jsonl blocked `train --resume` in open(2) forever.
    @Test func aMetricsLogThatIsAFIFOIsRefusedAtOnce() throws {
        let dir = try makeTempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let fifo = dir + "/metrics.jsonl"
        #expect(mkfifo(fifo, 0o644) == 0)
        let e = #expect(throws: DataFileError.self) { _ = try MetricsLog(path: fifo) }
        #expect(e?.source == fifo)
    }
}
