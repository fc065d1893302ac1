import Foundation

/// Element types of the safetensors format (names as in the header).
public enum SafetensorsDType: String, Sendable, CaseIterable {
    case BOOL, U8, I8, U16, I16, F16, BF16, U32, I32, F32, U64, I64, F64

    /// Bytes per element.
    public var byteSize: Int {
        switch self {
        case .BOOL, .U8, .I8: return 1
        case .U16, .I16, .F16, .BF16: return 2
        case .U32, .I32, .F32: return 4
        case .U64, .I64, .F64: return 8
        }
    }
}

/// Scalar types with a fixed safetensors dtype and little-endian encoding.
public protocol SafetensorsScalar: Sendable {
    static var safetensorsDType: SafetensorsDType { get }
}
extension Float: SafetensorsScalar { public static var safetensorsDType: SafetensorsDType { .F32 } }
extension Double: SafetensorsScalar { public static var safetensorsDType: SafetensorsDType { .F64 } }
extension Int64: SafetensorsScalar { public static var safetensorsDType: SafetensorsDType { .I64 } }
extension Int32: SafetensorsScalar { public static var safetensorsDType: SafetensorsDType { .I32 } }
extension UInt8: SafetensorsScalar { public static var safetensorsDType: SafetensorsDType { .U8 } }

/// One tensor: dtype, shape and its raw little-endian bytes.
public struct SafeTensor: Sendable, Equatable {
    public let dtype: SafetensorsDType
    public let shape: [Int]
    /// Exactly `elementCount * dtype.byteSize` little-endian bytes.
    public let data: [UInt8]

    /// Product of the shape (1 for a scalar with shape `[]`).
    public var elementCount: Int { shape.reduce(1, *) }

    /// Wraps raw bytes, checking that their count matches the shape.
    public init(dtype: SafetensorsDType, shape: [Int], data: [UInt8]) throws {
        guard let n = checkedCount(shape) else {
            throw DataFileError(source: "<memory>", message: "invalid shape \(shape)")
        }
        guard data.count == n * dtype.byteSize else {
            throw DataFileError(source: "<memory>", message:
                "\(dtype.rawValue) tensor of shape \(shape) needs \(n * dtype.byteSize) bytes, got \(data.count)")
        }
        self.dtype = dtype
        self.shape = shape
        self.data = data
    }

    /// Encodes typed values (Float → F32, Double → F64, Int64 → I64, ...).
    public init<T: SafetensorsScalar>(_ values: [T], shape: [Int]) throws {
        var bytes = [UInt8](repeating: 0, count: values.count * MemoryLayout<T>.size)
        bytes.withUnsafeMutableBytes { dst in
            values.withUnsafeBytes { src in dst.copyMemory(from: src) }
            #if _endian(big)
            Self.swapBytes(dst, width: MemoryLayout<T>.size)
            #endif
        }
        try self.init(dtype: T.safetensorsDType, shape: shape, data: bytes)
    }

    /// Decodes the values; throws if the tensor's dtype is not `T`'s.
    public func values<T: SafetensorsScalar>(as _: T.Type = T.self) throws -> [T] {
        guard dtype == T.safetensorsDType else {
            throw DataFileError(source: "<memory>", message:
                "tensor has dtype \(dtype.rawValue), not \(T.safetensorsDType.rawValue)")
        }
        let n = data.count / MemoryLayout<T>.size
        return [T](unsafeUninitializedCapacity: n) { buf, count in
            let raw = UnsafeMutableRawBufferPointer(buf)
            data.withUnsafeBytes { raw.copyMemory(from: $0) }
            #if _endian(big)
            Self.swapBytes(raw, width: MemoryLayout<T>.size)
            #endif
            count = n
        }
    }

    public func floats() throws -> [Float] { try values() }
    public func doubles() throws -> [Double] { try values() }
    public func int64s() throws -> [Int64] { try values() }

    static func swapBytes(_ buf: UnsafeMutableRawBufferPointer, width: Int) {
        var i = 0
        while i < buf.count {
            for k in 0..<width / 2 { buf.swapAt(i + k, i + width - 1 - k) }
            i += width
        }
    }
}

/// Product of non-negative dims, or nil on a negative dim or overflow.
func checkedCount(_ shape: [Int]) -> Int? {
    var n = 1
    for d in shape {
        guard d >= 0 else { return nil }
        let (p, o) = n.multipliedReportingOverflow(by: d)
        if o { return nil }
        n = p
    }
    return n
}

/// A safetensors file (https://github.com/huggingface/safetensors):
///
///     u64 little-endian N | N bytes of JSON header | data section
///
/// The header maps each tensor name to `{"dtype", "shape", "data_offsets":
/// [begin, end]}` (offsets relative to the data section) plus an optional
/// `"__metadata__"` object of string → string. This writer, like the
/// reference one, pads the header with spaces to a multiple of 8 bytes so
/// the data section is aligned, and lays tensors out sorted by name.
public struct SafetensorsFile: Sendable, Equatable {
    public var tensors: [String: SafeTensor]
    public var metadata: [String: String]

    /// Reference implementation's cap on header size (100 MB).
    public static let maxHeaderBytes = 100_000_000

    public init(tensors: [String: SafeTensor] = [:], metadata: [String: String] = [:]) {
        self.tensors = tensors
        self.metadata = metadata
    }

    // MARK: Writing

    /// The 8-byte length prefix plus the padded JSON header.
    public func headerBytes() throws -> [UInt8] {
        var json = "{"
        var first = true
        if !metadata.isEmpty {
            json += "\"__metadata__\":{"
            json += metadata.sorted { $0.key < $1.key }
                .map { JSON.quote($0.key) + ":" + JSON.quote($0.value) }.joined(separator: ",")
            json += "}"
            first = false
        }
        var offset = 0
        for name in tensors.keys.sorted() {
            guard name != "__metadata__" else {
                throw DataFileError(source: "<memory>", message: "\"__metadata__\" is reserved and cannot name a tensor")
            }
            let t = tensors[name]!
            if !first { json += "," }
            first = false
            json += JSON.quote(name) + ":{\"dtype\":\"\(t.dtype.rawValue)\",\"shape\":["
                + t.shape.map(String.init).joined(separator: ",")
                + "],\"data_offsets\":[\(offset),\(offset + t.data.count)]}"
            offset += t.data.count
        }
        json += "}"
        var header = Array(json.utf8)
        header += repeatElement(UInt8(ascii: " "), count: (8 - header.count % 8) % 8)
        var out: [UInt8] = withUnsafeBytes(of: UInt64(header.count).littleEndian) { Array($0) }
        out += header
        return out
    }

    /// The complete file contents.
    public func serialized() throws -> [UInt8] {
        var out = try headerBytes()
        for name in tensors.keys.sorted() { out += tensors[name]!.data }
        return out
    }

    /// Writes the file atomically (temp file in the same directory, fsync,
    /// rename): a crash or SIGKILL leaves either the previous checkpoint or
    /// the complete new one at `path`, never a partial file.
    public func write(to path: String) throws {
        let header = try headerBytes()
        try BinaryFile.writeAtomically(path) { write in
            try header.withUnsafeBytes { try write($0) }
            for name in tensors.keys.sorted() {
                try tensors[name]!.data.withUnsafeBytes { try write($0) }
            }
        }
    }

    // MARK: Reading

    /// Reads and fully validates a safetensors file.
    public static func read(_ path: String) throws -> SafetensorsFile {
        let bytes = try BinaryFile.read(path)
        return try parse(bytes, source: path)
    }

    /// Parses safetensors bytes. Everything is checked before any tensor is
    /// materialised: the header length fits in the file, the header is
    /// strict JSON of the expected shape, dtypes are known, each tensor's
    /// byte range lies inside the data section and has exactly
    /// `prod(shape) * dtype size` bytes, and the ranges tile the data
    /// section with no overlap and no gap.
    public static func parse(_ bytes: [UInt8], source: String = "<memory>") throws -> SafetensorsFile {
        func fail(_ m: String) -> DataFileError { DataFileError(source: source, message: m) }

        guard bytes.count >= 8 else {
            throw fail("file is too short (\(bytes.count) bytes) to hold the 8-byte header length")
        }
        var n64: UInt64 = 0
        for i in (0..<8).reversed() { n64 = n64 << 8 | UInt64(bytes[i]) }
        guard n64 <= UInt64(bytes.count - 8) else {
            throw fail("header length \(n64) exceeds the \(bytes.count - 8) bytes after the length prefix (truncated or not a safetensors file)")
        }
        guard n64 <= UInt64(maxHeaderBytes) else {
            throw fail("header length \(n64) exceeds the limit of \(maxHeaderBytes) bytes")
        }
        let headerEnd = 8 + Int(n64)
        guard headerEnd > 8, bytes[8] == UInt8(ascii: "{") else {
            throw fail("header does not start with '{' (not a safetensors file?)")
        }
        let root: JSONValue
        do { root = try JSON.parse(bytes[8..<headerEnd]) } catch let e as JSONParseError {
            throw fail("header is not valid JSON: \(e.message) (at header byte \(e.offset))")
        }
        guard case .object(let members) = root else { throw fail("header is not a JSON object") }

        let dataStart = headerEnd
        let dataLen = bytes.count - dataStart
        var metadata: [String: String] = [:]
        var entries: [(name: String, dtype: SafetensorsDType, shape: [Int], begin: Int, end: Int)] = []

        for (name, value) in members {
            if name == "__metadata__" {
                guard case .object(let kv) = value else {
                    throw fail("\"__metadata__\" must be an object of strings, got \(value.kind)")
                }
                for (k, v) in kv {
                    guard let s = v.stringValue else {
                        throw fail("\"__metadata__\" value for \(JSON.quote(k)) must be a string, got \(v.kind)")
                    }
                    metadata[k] = s
                }
                continue
            }
            let q = JSON.quote(name)
            guard case .object = value else { throw fail("entry \(q) must be an object, got \(value.kind)") }
            guard let dtName = value["dtype"]?.stringValue else { throw fail("tensor \(q) has no string \"dtype\"") }
            guard let dtype = SafetensorsDType(rawValue: dtName) else {
                throw fail("tensor \(q) has unknown dtype \(JSON.quote(dtName))")
            }
            guard case .array(let dims)? = value["shape"] else { throw fail("tensor \(q) has no \"shape\" array") }
            var shape: [Int] = []
            for d in dims {
                guard let v = d.intValue, v >= 0 else {
                    throw fail("tensor \(q) shape entries must be non-negative integers")
                }
                shape.append(v)
            }
            guard case .array(let offs)? = value["data_offsets"], offs.count == 2,
                  let begin = offs[0].intValue, let end = offs[1].intValue, begin >= 0, end >= 0 else {
                throw fail("tensor \(q) needs \"data_offsets\": [begin, end] of non-negative integers")
            }
            guard begin <= end else { throw fail("tensor \(q) has data_offsets [\(begin), \(end)] with begin > end") }
            guard end <= dataLen else {
                throw fail("tensor \(q) data_offsets [\(begin), \(end)] run past the \(dataLen)-byte data section (truncated file?)")
            }
            guard let count = checkedCount(shape),
                  case let (size, o) = count.multipliedReportingOverflow(by: dtype.byteSize), !o else {
                throw fail("tensor \(q) shape \(shape) is too large")
            }
            guard end - begin == size else {
                throw fail("tensor \(q) is \(dtName) with shape \(shape), which needs \(size) bytes, but data_offsets [\(begin), \(end)] span \(end - begin)")
            }
            entries.append((name, dtype, shape, begin, end))
        }

        // The ranges must tile [0, dataLen) exactly, like the reference reader requires.
        let ordered = entries.sorted { ($0.begin, $0.end) < ($1.begin, $1.end) }
        var covered = 0
        var previous: String?
        for e in ordered {
            if e.begin < covered {
                throw fail("tensor \(JSON.quote(e.name)) bytes [\(e.begin), \(e.end)) overlap tensor \(JSON.quote(previous ?? ""))")
            }
            if e.begin > covered {
                throw fail("gap of \(e.begin - covered) unused bytes before tensor \(JSON.quote(e.name)) at data offset \(covered)")
            }
            covered = e.end
            if e.end > e.begin { previous = e.name }
        }
        guard covered == dataLen else {
            throw fail("\(dataLen - covered) bytes at the end of the data section belong to no tensor")
        }

        var tensors: [String: SafeTensor] = [:]
        for e in entries {
            tensors[e.name] = try SafeTensor(dtype: e.dtype, shape: e.shape,
                                             data: Array(bytes[dataStart + e.begin ..< dataStart + e.end]))
        }
        return SafetensorsFile(tensors: tensors, metadata: metadata)
    }
}
