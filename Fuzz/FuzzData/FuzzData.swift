import Foundation
import NetcTrain

/// libFuzzer entry point over NetcTrain's binary readers. The first byte picks the reader,
/// the rest is the file: every input must be decoded or refused with an error, never a trap.
/// Built only by `make fuzz` (see Package.swift).
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzData(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    guard size > 0 else { return 0 }
    let bytes = Array(UnsafeBufferPointer(start: data + 1, count: size - 1))
    switch data[0] % 6 {
    case 0: readSafetensors(bytes)
    case 1: _ = try? NPY.decode(bytes)
    case 2: _ = try? IDX.decode(bytes, expectedMagic: IDX.imagesMagic, source: "fuzz")
    case 3: readGzipIDX(bytes)
    // PNG and JPEG through libpng and libjpeg-turbo, to gray and to RGB.
    case 4: _ = try? ImageFile(bytes: bytes, channels: 1, source: "fuzz")
    default: _ = try? ImageFile(bytes: bytes, channels: 3, source: "fuzz")
    }
    return 0
}

/// A checkpoint's path: the safetensors container, then every tensor's values.
private func readSafetensors(_ bytes: [UInt8]) {
    guard let file = try? SafetensorsFile.parse(bytes) else { return }
    for tensor in file.tensors.values {
        _ = try? tensor.floats()
        _ = try? tensor.doubles()
        _ = try? tensor.int64s()
        _ = try? tensor.values(as: Int32.self)
        _ = try? tensor.values(as: UInt8.self)
    }
    // The metadata (recipe, position, momentum steps) as `netc eval` and `--resume` read it.
    _ = try? Checkpoint.read(bytes: bytes, source: "fuzz")
    _ = try? file.serialized()
}

/// `IDX.readFile`'s path for a gzip-compressed file, with a small inflate limit so a
/// compression bomb is refused quickly instead of exhausting the fuzzer's memory.
private func readGzipIDX(_ bytes: [UInt8]) {
    guard Gzip.isGzip(bytes), let raw = try? Gzip.decompress(bytes, source: "fuzz", maxOutputBytes: 1 << 20) else { return }
    _ = try? IDX.decode(raw, expectedMagic: IDX.labelsMagic, source: "fuzz")
}
