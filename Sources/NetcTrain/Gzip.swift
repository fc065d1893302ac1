import CZlib
import Foundation

/// gzip compression and decompression through the system zlib.
public enum Gzip {
    /// The two magic bytes every gzip member starts with (RFC 1952).
    public static let magic: (UInt8, UInt8) = (0x1f, 0x8b)

    /// Default ceiling for decompressed output. Fashion-MNIST's largest file
    /// inflates to ~47 MB; the cap only exists so a corrupt or hostile file
    /// cannot make us allocate without bound.
    public static let defaultMaxOutputBytes = 1 << 30

    /// True if `bytes` starts with the gzip magic number.
    public static func isGzip<C: Collection>(_ bytes: C) -> Bool where C.Element == UInt8 {
        var it = bytes.makeIterator()
        return it.next() == magic.0 && it.next() == magic.1
    }

    /// Inflates a gzip (or zlib) stream.
    ///
    /// Uses `inflateInit2` with windowBits 15+32, so zlib detects the header
    /// format itself and verifies the gzip CRC-32 and length trailer.
    /// Concatenated gzip members (valid per RFC 1952) are inflated in turn.
    /// Output grows geometrically but never beyond `maxOutputBytes`.
    ///
    /// - Parameters:
    ///   - input: compressed bytes.
    ///   - source: name used in error messages (usually the file path).
    ///   - maxOutputBytes: hard limit on the inflated size.
    /// - Throws: ``DataFileError`` for truncated or corrupt input, or when the
    ///   output would exceed the limit.
    public static func decompress(_ input: [UInt8], source: String,
                                  maxOutputBytes: Int = defaultMaxOutputBytes) throws -> [UInt8] {
        if input.isEmpty {
            throw DataFileError(source: source, message: "file is empty (expected gzip data)")
        }
        var stream = z_stream()
        // inflateInit2 is a C macro, which Swift cannot import; call the
        // function it expands to.
        var rc = inflateInit2_(&stream, 15 + 32, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size))
        guard rc == Z_OK else {
            throw DataFileError(source: source, message: "zlib inflateInit2 failed (code \(rc))")
        }
        defer { inflateEnd(&stream) }

        // Start with a guess (typical ratio for image data) and double as
        // needed, bounded by maxOutputBytes.
        var output = [UInt8](repeating: 0, count: min(max(input.count * 4, 1 << 16), maxOutputBytes))
        var produced = 0
        var consumed = 0

        try input.withUnsafeBufferPointer { inBuf in
            let base = UnsafeMutablePointer(mutating: inBuf.baseAddress!)
            while true {
                if produced == output.count {
                    guard output.count < maxOutputBytes else {
                        throw DataFileError(source: source, message:
                            "decompressed data exceeds the limit of \(maxOutputBytes) bytes")
                    }
                    let newCount = min(output.count * 2, maxOutputBytes)
                    output.append(contentsOf: repeatElement(0, count: newCount - output.count))
                }
                let inAvail = inBuf.count - consumed
                let outAvail = output.count - produced
                rc = output.withUnsafeMutableBufferPointer { outBuf -> Int32 in
                    stream.next_in = base + consumed
                    stream.avail_in = UInt32(clamping: inAvail)
                    stream.next_out = outBuf.baseAddress! + produced
                    stream.avail_out = UInt32(clamping: outAvail)
                    let r = inflate(&stream, Z_NO_FLUSH)
                    consumed += Int(UInt32(clamping: inAvail) - stream.avail_in)
                    produced += Int(UInt32(clamping: outAvail) - stream.avail_out)
                    return r
                }
                switch rc {
                case Z_OK:
                    continue
                case Z_STREAM_END:
                    let rest = inBuf.count - consumed
                    if rest == 0 { return }
                    // Another gzip member follows: keep going. Anything else
                    // after the trailer means the file is not what it claims.
                    if rest >= 2 && inBuf[consumed] == magic.0 && inBuf[consumed + 1] == magic.1 {
                        inflateReset(&stream)
                        continue
                    }
                    throw DataFileError(source: source, message:
                        "\(rest) unexpected trailing bytes after the end of the gzip stream")
                case Z_BUF_ERROR:
                    // No progress possible. With output room left this means
                    // the input ran out before the end of the stream.
                    if produced < output.count {
                        throw DataFileError(source: source, message:
                            "truncated gzip data: input ended after \(consumed) bytes before the end of the compressed stream")
                    }
                    continue
                case Z_DATA_ERROR:
                    let detail = stream.msg.map { String(cString: $0) } ?? "invalid data"
                    throw DataFileError(source: source, message: "corrupt gzip data: \(detail)")
                case Z_MEM_ERROR:
                    throw DataFileError(source: source, message: "zlib ran out of memory while inflating")
                default:
                    let detail = stream.msg.map { String(cString: $0) } ?? "code \(rc)"
                    throw DataFileError(source: source, message: "zlib inflate failed: \(detail)")
                }
            }
        }
        output.removeSubrange(produced...)
        return output
    }

    /// Compresses `input` into a single gzip member (RFC 1952 header and
    /// CRC-32 trailer) using zlib's deflate with windowBits 15+16.
    ///
    /// Used to produce test fixtures and any `.gz` artefacts without
    /// shelling out to `gzip`.
    public static func compress(_ input: [UInt8], level: Int32 = Z_DEFAULT_COMPRESSION) throws -> [UInt8] {
        var stream = z_stream()
        var rc = deflateInit2_(&stream, level, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY,
                               ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size))
        guard rc == Z_OK else {
            throw DataFileError(source: "<memory>", message: "zlib deflateInit2 failed (code \(rc))")
        }
        defer { deflateEnd(&stream) }
        let bound = Int(deflateBound(&stream, uLong(input.count)))
        var output = [UInt8](repeating: 0, count: bound)
        var input = input  // deflate wants a mutable pointer (no ZLIB_CONST)
        rc = input.withUnsafeMutableBufferPointer { inBuf in
            output.withUnsafeMutableBufferPointer { outBuf in
                stream.next_in = inBuf.baseAddress
                stream.avail_in = UInt32(inBuf.count)
                stream.next_out = outBuf.baseAddress
                stream.avail_out = UInt32(outBuf.count)
                // deflateBound guarantees a single Z_FINISH call suffices.
                return deflate(&stream, Z_FINISH)
            }
        }
        guard rc == Z_STREAM_END else {
            throw DataFileError(source: "<memory>", message: "zlib deflate failed (code \(rc))")
        }
        output.removeSubrange(Int(stream.total_out)...)
        return output
    }
}
