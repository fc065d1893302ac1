import Foundation
import Testing
@testable import NetcTrain

@Suite struct NPYTests {
    @Test func headerBytesMatchNumPy() {
        let h = NPY.header(shape: [2, 1, 96, 96])
        let dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 1, 96, 96), }"
        // 10-byte prefix + dict + padding + "\n" = 128, so the length field is 118.
        #expect(h.count == 128)
        #expect(Array(h[0..<10]) == [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 0x01, 0x00, 118, 0])
        #expect(Array(h[10 ..< 10 + dict.utf8.count]) == Array(dict.utf8))
        #expect(h[(10 + dict.utf8.count) ..< 127].allSatisfy { $0 == 0x20 })
        #expect(h[127] == 0x0a)
        // 1-d and 0-d shapes use Python's tuple repr.
        #expect(String(decoding: NPY.header(shape: [5]), as: UTF8.self).contains("'shape': (5,), }"))
        #expect(String(decoding: NPY.header(shape: []), as: UTF8.self).contains("'shape': (), }"))
        #expect(NPY.header(shape: [5]).count == 128)  // 10 + 56 + 1 > 64
    }

    @Test func roundTrip() throws {
        let dir = try makeTempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let data = (0..<(2 * 3 * 4)).map { Float($0) * 0.1 - 1 }
        let a = NPYArray(shape: [2, 3, 4], data: data)
        let path = dir + "/x.npy"
        try NPY.write(a, to: path)
        let bytes = try BinaryFile.read(path)
        #expect(bytes.count == 128 + 96)
        #expect(Array(bytes[128..<132]) == [0x00, 0x00, 0x80, 0xbf])  // -1.0f little-endian
        #expect(try NPY.read(path) == a)
        let scalar = NPYArray(shape: [], data: [.pi])
        #expect(try NPY.decode(NPY.encode(scalar)) == scalar)
        let empty = NPYArray(shape: [0, 3], data: [])
        #expect(try NPY.decode(NPY.encode(empty)) == empty)
        let mismatch = #expect(throws: DataFileError.self) { try NPY.encode(NPYArray(shape: [2], data: [1])) }
        #expect(mismatch?.description == "<memory>: shape [2] does not match 1 values")
    }

    /// Builds a v1.0 file with an arbitrary header dict.
    func file(_ dict: String, data: [UInt8], major: UInt8 = 1) -> [UInt8] {
        var h = Array(dict.utf8)
        let pre = major == 1 ? 10 : 12
        h += repeatElement(0x20, count: (64 - (pre + h.count + 1) % 64) % 64)
        h.append(0x0a)
        let len = major == 1 ? [UInt8(h.count), 0] : [UInt8(h.count), 0, 0, 0]
        return NPY.magic + [major, 0] + len + h + data
    }

    func error(_ b: [UInt8]) -> String? {
        do { _ = try NPY.decode(b, source: "a.npy"); return nil } catch { return "\(error)" }
    }

    @Test func readsVersion2() throws {
        let b = file("{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }",
                     data: [0, 0, 0x80, 0x3f, 0, 0, 0, 0x40], major: 2)
        #expect(try NPY.decode(b) == NPYArray(shape: [2], data: [1, 2]))
    }

    @Test func clearErrors() {
        let four = [UInt8](repeating: 0, count: 4)
        #expect(error(file("{'descr': '<f8', 'fortran_order': False, 'shape': (1,), }", data: four + four)) ==
            "a.npy: unsupported dtype '<f8'; only little-endian float32 ('<f4') is supported: save it with np.save(path, x.astype('<f4'))")
        #expect(error(file("{'descr': '>f4', 'fortran_order': False, 'shape': (1,), }", data: four)) ==
            "a.npy: unsupported big-endian float32; only little-endian float32 ('<f4') is supported: save it with np.save(path, x.astype('<f4'))")
        #expect(error(file("{'descr': '<f4', 'fortran_order': True, 'shape': (1,), }", data: four)) ==
            "a.npy: Fortran-order arrays are not supported (save with C order)")
        #expect(error(file("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }", data: four)) ==
            "a.npy: shape [2, 3] needs 24 data bytes, but the file has 4 (truncated)")
        #expect(error(Array(file("{'descr': '<f4', 'fortran_order': False, 'shape': (1,), }", data: four)
            .prefix(30))) == "a.npy: file is truncated: header says 118 bytes but only 20 follow")
        #expect(error(Array("hello".utf8)) == "a.npy: not a .npy file (missing \\x93NUMPY magic)")
        #expect(error(file("{'descr': '<f4', 'shape': (1,), }", data: four)) ==
            "a.npy: header has no 'fortran_order' boolean")
        #expect(error(file("{'descr': '<f4', 'fortran_order': False, 'shape': [1], }", data: four))?
            .hasSuffix("unsupported value") == true)
        // Every truncation is an error, never a trap.
        let good = try! NPY.encode(NPYArray(shape: [3], data: [1, 2, 3]))
        for n in 0..<good.count { #expect(error(Array(good.prefix(n))) != nil) }
    }
}
