/// The writing half of the protobuf wire format, as much as an ONNX model needs: varints,
/// 32-bit floats, length-delimited bytes and nested messages. Field numbers are the caller's.
struct ProtobufWriter {
    private(set) var bytes: [UInt8] = []

    private enum Wire: UInt64 { case varint = 0, lengthDelimited = 2, fixed32 = 5 }

    private mutating func varint(_ value: UInt64) {
        var v = value
        while v >= 0x80 {
            bytes.append(UInt8(v & 0x7F) | 0x80)
            v >>= 7
        }
        bytes.append(UInt8(v))
    }

    private mutating func key(_ field: Int, _ wire: Wire) { varint(UInt64(field) << 3 | wire.rawValue) }

    /// An int32, int64 or enum field (a negative value takes ten bytes, as protobuf's int64 does).
    mutating func int(_ field: Int, _ value: Int) {
        key(field, .varint)
        varint(UInt64(bitPattern: Int64(value)))
    }

    /// A repeated integer field, one key per element (proto2's unpacked encoding, which every
    /// parser accepts).
    mutating func ints(_ field: Int, _ values: [Int]) { for v in values { int(field, v) } }

    mutating func float(_ field: Int, _ value: Float) {
        key(field, .fixed32)
        withUnsafeBytes(of: value.bitPattern.littleEndian) { bytes.append(contentsOf: $0) }
    }

    mutating func bytes(_ field: Int, _ value: some Collection<UInt8>) {
        key(field, .lengthDelimited)
        varint(UInt64(value.count))
        bytes.append(contentsOf: value)
    }

    mutating func string(_ field: Int, _ value: String) { bytes(field, Array(value.utf8)) }

    /// A nested message, written by `body` into a writer of its own.
    mutating func message(_ field: Int, _ body: (inout ProtobufWriter) -> Void) {
        var inner = ProtobufWriter()
        body(&inner)
        bytes(field, inner.bytes)
    }
}
