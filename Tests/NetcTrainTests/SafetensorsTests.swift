import Foundation
import Testing
@testable import NetcTrain

@Suite struct SafetensorsTests {
    func sample() throws -> SafetensorsFile {
        try SafetensorsFile(
            tensors: [
                "b": SafeTensor([Float(1), 2], shape: [2]),
                "a": SafeTensor([Int64(7)], shape: [1]),
            ],
            metadata: ["epoch": "3"])
    }

    /// A file whose header is `json` (padded) followed by `data`.
    func craft(_ json: String, data: [UInt8]) -> [UInt8] {
        var h = Array(json.utf8)
        h += repeatElement(UInt8(ascii: " "), count: (8 - h.count % 8) % 8)
        return withUnsafeBytes(of: UInt64(h.count).littleEndian) { Array($0) } + h + data
    }

    func parseError(_ bytes: [UInt8]) -> String? {
        do { _ = try SafetensorsFile.parse(bytes, source: "m.safetensors"); return nil } catch {
            return "\(error)"
        }
    }

    @Test func headerIsByteExact() throws {
        let bytes = try sample().serialized()
        let json = #"{"__metadata__":{"epoch":"3"},"a":{"dtype":"I64","shape":[1],"data_offsets":[0,8]},"#
            + #""b":{"dtype":"F32","shape":[2],"data_offsets":[8,16]}}"#
        let padded = json.utf8.count + (8 - json.utf8.count % 8) % 8
        #expect(padded % 8 == 0)
        // u64 little-endian header length.
        #expect(Array(bytes[0..<8]) == [UInt8(padded), UInt8(padded >> 8), 0, 0, 0, 0, 0, 0])
        #expect(Array(bytes[8 ..< 8 + json.utf8.count]) == Array(json.utf8))
        #expect(bytes[8 + json.utf8.count ..< 8 + padded].allSatisfy { $0 == UInt8(ascii: " ") })
        // Data section in name order: a (I64 7), then b (F32 1.0, 2.0), little-endian.
        #expect(Array(bytes[(8 + padded)...]) ==
            [7, 0, 0, 0, 0, 0, 0, 0,  0x00, 0x00, 0x80, 0x3f,  0x00, 0x00, 0x00, 0x40])
    }

    @Test func roundTripIsExact() throws {
        let dir = try makeTempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        // Awkward values: NaN payloads, -0, subnormals, extremes must survive bit for bit.
        let floats: [Float] = [0, -0.0, .nan, .infinity, -.infinity, .leastNonzeroMagnitude,
                               .greatestFiniteMagnitude, 1.0 / 3.0, Float(bitPattern: 0x7fc0_1234)]
        let doubles: [Double] = [.pi, -1e-300, 2.5]
        let ints: [Int64] = [.min, -1, 0, .max]
        let file = try SafetensorsFile(
            tensors: [
                "conv1.weight": SafeTensor(floats, shape: [3, 3, 1, 1]),
                "bn.running_var": SafeTensor(doubles, shape: [3]),
                "step": SafeTensor(ints, shape: [2, 2]),
                "empty": SafeTensor([Float](), shape: [0, 4]),
                "scalar": SafeTensor([Float(42)], shape: []),
            ],
            metadata: ["format": "pt", "note": "quote \" backslash \\ newline \n tab \t é ☃"])
        let path = dir + "/model.safetensors"
        try file.write(to: path)
        let back = try SafetensorsFile.read(path)
        #expect(back == file)
        #expect(back.metadata == file.metadata)
        #expect(try back.tensors["conv1.weight"]!.floats().map(\.bitPattern) == floats.map(\.bitPattern))
        #expect(try back.tensors["bn.running_var"]!.doubles() == doubles)
        #expect(try back.tensors["step"]!.int64s() == ints)
        #expect(back.tensors["empty"]!.shape == [0, 4])
        #expect(try back.tensors["scalar"]!.floats() == [42])
        #expect(try BinaryFile.read(path) == file.serialized())
        let wrongType = #expect(throws: DataFileError.self) { try back.tensors["step"]!.floats() }
        #expect(wrongType?.description == "<memory>: tensor has dtype I64, not F32")
    }

    @Test func atomicWriteLeavesNoTempFile() throws {
        let dir = try makeTempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/ckpt.safetensors"
        try sample().write(to: path)
        var changed = try sample()
        changed.metadata["epoch"] = "4"
        try changed.write(to: path)  // replaces the existing file
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir) == ["ckpt.safetensors"])
        #expect(try SafetensorsFile.read(path).metadata["epoch"] == "4")

        let e = #expect(throws: DataFileError.self) { try sample().write(to: dir + "/nodir/x.safetensors") }
        #expect(e?.message.hasPrefix("cannot create temporary file") == true)
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir) == ["ckpt.safetensors"])
    }

    @Test func failedWriteKeepsOldFileAndRemovesTemp() throws {
        let dir = try makeTempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/f.bin"
        try BinaryFile.writeAtomically(path, bytes: [1, 2, 3])
        struct Boom: Error {}
        #expect(throws: Boom.self) {
            try BinaryFile.writeAtomically(path) { write in
                try [UInt8](repeating: 9, count: 100).withUnsafeBytes { try write($0) }
                throw Boom()  // simulated failure mid-write
            }
        }
        #expect(try BinaryFile.read(path) == [1, 2, 3])
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir) == ["f.bin"])
    }

    @Test func corruptFilesGiveErrors() throws {
        let good = try sample().serialized()
        #expect(parseError(Array(good.prefix(5))) ==
            "m.safetensors: file is too short (5 bytes) to hold the 8-byte header length")

        var hugeLen = good
        hugeLen[6] = 1
        let headerLen = good.count - 8 - 16  // minus prefix and 16 data bytes
        #expect(parseError(hugeLen) == "m.safetensors: header length \((1 << 48) + headerLen) exceeds the "
            + "\(good.count - 8) bytes after the length prefix (truncated or not a safetensors file)")

        #expect(parseError(Array(good.dropLast(4))) ==
            #"m.safetensors: tensor "b" data_offsets [8, 16] run past the 12-byte data section (truncated file?)"#)

        #expect(parseError(good + [0, 0]) ==
            "m.safetensors: 2 bytes at the end of the data section belong to no tensor")

        let d8 = [UInt8](repeating: 0, count: 8)
        #expect(parseError(craft(#"{"x":{"dtype":"F32","shape":[2],"data_offsets":[0,16]}}"#, data: d8)) ==
            #"m.safetensors: tensor "x" data_offsets [0, 16] run past the 8-byte data section (truncated file?)"#)
        #expect(parseError(craft(#"{"x":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}"#, data: d8)) ==
            #"m.safetensors: tensor "x" is F32 with shape [3], which needs 12 bytes, but data_offsets [0, 8] span 8"#)
        #expect(parseError(craft(#"{"x":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"#
                                 + #""y":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}"#, data: d8)) ==
            #"m.safetensors: tensor "y" bytes [4, 8) overlap tensor "x""#)
        #expect(parseError(craft(#"{"x":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}"#, data: d8)) ==
            #"m.safetensors: gap of 4 unused bytes before tensor "x" at data offset 0"#)
        #expect(parseError(craft(#"{"x":{"dtype":"Q4","shape":[1],"data_offsets":[0,8]}}"#, data: d8)) ==
            #"m.safetensors: tensor "x" has unknown dtype "Q4""#)
        #expect(parseError(craft(#"{"x":{"dtype":"F64","shape":[1],"data_offsets":[8,0]}}"#, data: d8)) ==
            #"m.safetensors: tensor "x" has data_offsets [8, 0] with begin > end"#)
        #expect(parseError(craft(#"{"x":{"dtype":"F64","shape":[-1],"data_offsets":[0,8]}}"#, data: d8)) ==
            #"m.safetensors: tensor "x" shape entries must be non-negative integers"#)
        #expect(parseError(craft(#"{"x":{"dtype":"F64","shape":[1],"data_offsets":[0,8]},"x":{}}"#, data: d8))
            == #"m.safetensors: header is not valid JSON: duplicate key "x" (at header byte 54)"#)
        #expect(parseError(craft(#"{"x":{"dtype":"F64","shape":[1],"data_offsets":[0,8]"#, data: d8))?
            .hasPrefix("m.safetensors: header is not valid JSON: unterminated object") == true)
        #expect(parseError(craft(#"{"__metadata__":{"a":1}}"#, data: [])) ==
            #"m.safetensors: "__metadata__" value for "a" must be a string, got number"#)
        #expect(parseError(craft("[1]", data: [])) ==
            "m.safetensors: header does not start with '{' (not a safetensors file?)")
        let e = #expect(throws: DataFileError.self) { try SafetensorsFile.read("/nonexistent/x.safetensors") }
        #expect(e?.description == "/nonexistent/x.safetensors: cannot open: No such file or directory")
    }

    @Test func everyTruncationAndByteFlipIsAnErrorNotATrap() throws {
        let good = try sample().serialized()
        for n in 0..<good.count {
            #expect(parseError(Array(good.prefix(n))) != nil)
        }
        // Flipping any single byte either still parses or throws; reaching
        // the end of the loop proves nothing trapped.
        var parsed = 0
        for i in 0..<good.count {
            for mask: UInt8 in [0x01, 0x80, 0xff] {
                var b = good
                b[i] ^= mask
                if parseError(b) == nil { parsed += 1 }
            }
        }
        #expect(parsed > 0)  // flips inside float data are harmless
    }
}
