import Foundation

/// A float32 array loaded from or destined for a `.npy` file.
public struct NPYArray: Sendable, Equatable {
    /// C-order dimensions; `[]` is a 0-d scalar.
    public var shape: [Int]
    public var data: [Float]

    public init(shape: [Int], data: [Float]) {
        self.shape = shape
        self.data = data
    }
}

/// NumPy `.npy` files holding little-endian float32 arrays in C order
/// (https://numpy.org/doc/stable/reference/generated/numpy.lib.format.html):
///
///     "\x93NUMPY" | major | minor | header length (u16 LE for v1, u32 LE for v2/v3)
///     | Python dict literal, space padded, ending in "\n" | raw data
///
/// The total header size is a multiple of 64 so the data is aligned.
/// Writing produces v1.0 (what `np.save` writes for ordinary headers);
/// reading accepts v1.0, v2.0 and v3.0.
public enum NPY {
    public static let magic: [UInt8] = [0x93] + Array("NUMPY".utf8)

    /// The header (magic through the newline) for a `<f4` C-order array.
    public static func header(shape: [Int]) -> [UInt8] {
        // Python's repr of a tuple: "()", "(5,)", "(2, 3)".
        let dims = shape.map(String.init)
        let tuple = shape.count == 1 ? "(\(dims[0]),)" : "(" + dims.joined(separator: ", ") + ")"
        var dict = Array("{'descr': '<f4', 'fortran_order': False, 'shape': \(tuple), }".utf8)
        // Version 1.0 stores the length in 2 bytes; absurdly long shapes need 2.0.
        let v2 = dict.count + 1 + 12 > 65535
        let prefix = magic.count + 2 + (v2 ? 4 : 2)
        let total = (prefix + dict.count + 1 + 63) / 64 * 64
        dict += repeatElement(UInt8(ascii: " "), count: total - prefix - dict.count - 1)
        dict.append(UInt8(ascii: "\n"))
        let len = UInt32(dict.count)
        let lenBytes = (0 ..< (v2 ? 4 : 2)).map { UInt8(truncatingIfNeeded: len >> (8 * $0)) }
        return magic + [v2 ? 2 : 1, 0] + lenBytes + dict
    }

    /// Complete `.npy` bytes for `array`.
    public static func encode(_ array: NPYArray) throws -> [UInt8] {
        guard let n = checkedCount(array.shape), n == array.data.count else {
            throw DataFileError(source: "<memory>", message:
                "shape \(array.shape) does not match \(array.data.count) values")
        }
        var out = header(shape: array.shape)
        let start = out.count
        out += repeatElement(0, count: n * 4)
        out.withUnsafeMutableBytes { dst in
            for (i, v) in array.data.enumerated() {
                dst.storeBytes(of: v.bitPattern.littleEndian, toByteOffset: start + 4 * i, as: UInt32.self)
            }
        }
        return out
    }

    /// Writes `array` to `path` atomically (see ``BinaryFile/writeAtomically(_:_:)``).
    public static func write(_ array: NPYArray, to path: String) throws {
        let bytes = try encode(array)
        try BinaryFile.writeAtomically(path, bytes: bytes)
    }

    /// Reads a float32 `.npy` file.
    public static func read(_ path: String) throws -> NPYArray {
        let bytes = try BinaryFile.read(path)
        return try decode(bytes, source: path)
    }

    /// Decodes `.npy` bytes. Only `descr '<f4'` with `fortran_order False`
    /// is accepted; anything else, or a data size that disagrees with the
    /// shape, is a ``DataFileError`` saying what was found.
    public static func decode(_ bytes: [UInt8], source: String = "<memory>") throws -> NPYArray {
        func fail(_ m: String) -> DataFileError { DataFileError(source: source, message: m) }
        guard bytes.count >= 10, Array(bytes[0..<6]) == magic else {
            throw fail("not a .npy file (missing \\x93NUMPY magic)")
        }
        let major = bytes[6], minor = bytes[7]
        let headerLen: Int, headerStart: Int
        switch major {
        case 1:
            headerLen = Int(bytes[8]) | Int(bytes[9]) << 8
            headerStart = 10
        case 2, 3:
            guard bytes.count >= 12 else { throw fail("file is truncated inside the header") }
            headerLen = Int(bytes[8]) | Int(bytes[9]) << 8 | Int(bytes[10]) << 16 | Int(bytes[11]) << 24
            headerStart = 12
        default:
            throw fail("unsupported .npy format version \(major).\(minor) (expected 1.0, 2.0 or 3.0)")
        }
        guard bytes.count - headerStart >= headerLen else {
            throw fail("file is truncated: header says \(headerLen) bytes but only \(bytes.count - headerStart) follow")
        }
        let dataStart = headerStart + headerLen
        // v1/v2 headers are latin-1; v3 is UTF-8. Our keys and values are ASCII.
        let text = String(decoding: bytes[headerStart..<dataStart], as: UTF8.self)
        let dict: [String: PyValue]
        do { dict = try PyLiteral.parseDict(text) } catch let e as PyLiteral.ParseError {
            throw fail("malformed header \(text.trimmingCharacters(in: .whitespacesAndNewlines)): \(e.message)")
        }
        guard case .string(let descr)? = dict["descr"] else { throw fail("header has no 'descr' string") }
        guard descr == "<f4" else {
            let hint = descr == ">f4" ? "big-endian float32" : "dtype '\(descr)'"
            throw fail("unsupported \(hint); only little-endian float32 ('<f4') is supported: save it with np.save(path, x.astype('<f4'))")
        }
        guard case .bool(let fortran)? = dict["fortran_order"] else {
            throw fail("header has no 'fortran_order' boolean")
        }
        guard !fortran else { throw fail("Fortran-order arrays are not supported (save with C order)") }
        guard case .tuple(let shape)? = dict["shape"] else { throw fail("header has no 'shape' tuple") }
        guard let n = checkedCount(shape), n <= Int.max / 4 else { throw fail("invalid shape \(shape)") }
        let needed = n * 4, available = bytes.count - dataStart
        guard available == needed else {
            throw fail("shape \(shape) needs \(needed) data bytes, but the file has \(available)"
                       + (available < needed ? " (truncated)" : ""))
        }
        let data = [Float](unsafeUninitializedCapacity: n) { buf, count in
            bytes.withUnsafeBytes { src in
                for i in 0..<n {
                    buf[i] = Float(bitPattern: UInt32(littleEndian:
                        src.loadUnaligned(fromByteOffset: dataStart + 4 * i, as: UInt32.self)))
                }
            }
            count = n
        }
        return NPYArray(shape: shape, data: data)
    }
}

/// Values that appear in a `.npy` header dict.
enum PyValue: Equatable {
    case string(String)
    case bool(Bool)
    case tuple([Int])
}

/// A parser for the small subset of Python literal syntax `.npy` headers
/// use: `{'key': value, ...}` with string, `True`/`False` and integer-tuple
/// values. NumPy itself uses `ast.literal_eval`; this is deliberately
/// narrower and rejects anything else.
enum PyLiteral {
    struct ParseError: Error { let message: String }

    static func parseDict(_ text: String) throws -> [String: PyValue] {
        var s = Substring(text)
        func skip() { while let c = s.first, c == " " || c == "\n" || c == "\t" || c == "\r" { s.removeFirst() } }
        func eat(_ c: Character) throws {
            skip()
            guard s.first == c else { throw ParseError(message: "expected '\(c)'") }
            s.removeFirst()
        }
        func string() throws -> String {
            skip()
            guard let q = s.first, q == "'" || q == "\"" else { throw ParseError(message: "expected a string") }
            s.removeFirst()
            guard let end = s.firstIndex(of: q) else { throw ParseError(message: "unterminated string") }
            let v = String(s[..<end])
            s = s[s.index(after: end)...]
            return v
        }
        func int() throws -> Int {
            skip()
            let digits = s.prefix { $0.isASCII && $0.isNumber }
            guard !digits.isEmpty, let v = Int(digits) else { throw ParseError(message: "expected an integer") }
            s = s.dropFirst(digits.count)
            if s.first == "L" { s.removeFirst() }  // Python 2 longs in old files
            return v
        }
        func value() throws -> PyValue {
            skip()
            if s.hasPrefix("True") { s = s.dropFirst(4); return .bool(true) }
            if s.hasPrefix("False") { s = s.dropFirst(5); return .bool(false) }
            if s.first == "'" || s.first == "\"" { return .string(try string()) }
            if s.first == "(" {
                s.removeFirst()
                var items: [Int] = []
                while true {
                    skip()
                    if s.first == ")" { s.removeFirst(); return .tuple(items) }
                    items.append(try int())
                    skip()
                    if s.first == "," { s.removeFirst(); continue }
                    try eat(")")
                    return .tuple(items)
                }
            }
            throw ParseError(message: "unsupported value")
        }
        var dict: [String: PyValue] = [:]
        try eat("{")
        while true {
            skip()
            if s.first == "}" { s.removeFirst(); break }
            let key = try string()
            try eat(":")
            guard dict.updateValue(try value(), forKey: key) == nil else {
                throw ParseError(message: "duplicate key '\(key)'")
            }
            skip()
            if s.first == "," { s.removeFirst(); continue }
            try eat("}")
            break
        }
        skip()
        guard s.isEmpty else { throw ParseError(message: "unexpected text after the dict") }
        return dict
    }
}
