import Foundation

/// A parsed JSON value. Small and strict on purpose: the safetensors header
/// must be validated exactly, which Foundation's `JSONSerialization` cannot
/// do (it silently keeps the last of duplicate keys, turns `true` into 1
/// under `as? Int`, and loses integers above 2^63).
public enum JSONValue: Equatable, Sendable {
    case null
    case bool(Bool)
    /// The number's source text, so integers keep full precision.
    case number(String)
    case string(String)
    case array([JSONValue])
    /// Members in source order; keys are unique (the parser enforces it).
    case object([(key: String, value: JSONValue)])

    public static func == (a: JSONValue, b: JSONValue) -> Bool {
        switch (a, b) {
        case (.null, .null): return true
        case let (.bool(x), .bool(y)): return x == y
        case let (.number(x), .number(y)): return x == y
        case let (.string(x), .string(y)): return x == y
        case let (.array(x), .array(y)): return x == y
        case let (.object(x), .object(y)):
            return x.count == y.count && zip(x, y).allSatisfy { $0.key == $1.key && $0.value == $1.value }
        default: return false
        }
    }

    /// The value as an integer, if it is a JSON number written without a
    /// fraction or exponent that fits in `Int`.
    public var intValue: Int? {
        guard case .number(let s) = self, !s.contains(where: { ".eE".contains($0) }) else { return nil }
        return Int(s)
    }

    /// The value as a Double, if it is a number.
    public var doubleValue: Double? {
        guard case .number(let s) = self else { return nil }
        return Double(s)
    }

    public var stringValue: String? {
        guard case .string(let s) = self else { return nil }
        return s
    }

    /// Looks up a member of an object.
    public subscript(key: String) -> JSONValue? {
        guard case .object(let members) = self else { return nil }
        return members.first { $0.key == key }?.value
    }

    /// Short name of the value's kind, for error messages.
    public var kind: String {
        switch self {
        case .null: return "null"
        case .bool: return "boolean"
        case .number: return "number"
        case .string: return "string"
        case .array: return "array"
        case .object: return "object"
        }
    }
}

/// Why JSON text could not be parsed; `offset` is a byte offset.
public struct JSONParseError: Error, CustomStringConvertible, Equatable {
    public let offset: Int
    public let message: String
    public var description: String { "invalid JSON at byte \(offset): \(message)" }
}

/// JSON text encoding and a strict RFC 8259 parser.
public enum JSON {
    /// Nesting limit so hostile input cannot overflow the stack.
    public static let maxDepth = 64

    /// Parses one JSON value; surrounding whitespace is allowed, anything
    /// else after the value is an error. Duplicate object keys are errors.
    public static func parse<C: Collection>(_ text: C) throws -> JSONValue where C.Element == UInt8 {
        var p = Parser(bytes: Array(text))
        p.skipSpace()
        let v = try p.value(depth: 0)
        p.skipSpace()
        guard p.pos == p.bytes.count else { throw p.fail("unexpected text after the value") }
        return v
    }

    /// `s` as a JSON string literal, with quotes, backslashes and control
    /// characters escaped.
    public static func quote(_ s: String) -> String {
        var out = "\""
        for u in s.unicodeScalars {
            switch u {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where u.value < 0x20:
                let h = String(u.value, radix: 16)
                out += "\\u" + String(repeating: "0", count: 4 - h.count) + h
            default: out.unicodeScalars.append(u)
            }
        }
        return out + "\""
    }

    /// A Double as a JSON number; NaN and ±infinity, which JSON cannot
    /// represent, become `null`. Integral values keep a trailing `.0`.
    public static func number(_ d: Double) -> String {
        d.isFinite ? "\(d)" : "null"
    }

    struct Parser {
        let bytes: [UInt8]
        var pos = 0

        func fail(_ m: String) -> JSONParseError { JSONParseError(offset: pos, message: m) }

        mutating func skipSpace() {
            while pos < bytes.count, [0x20, 0x09, 0x0a, 0x0d].contains(bytes[pos]) { pos += 1 }
        }

        mutating func expect(_ word: String) throws {
            let w = Array(word.utf8)
            guard bytes.count - pos >= w.count, Array(bytes[pos ..< pos + w.count]) == w else {
                throw fail("expected '\(word)'")
            }
            pos += w.count
        }

        mutating func value(depth: Int) throws -> JSONValue {
            guard depth < JSON.maxDepth else { throw fail("nesting deeper than \(JSON.maxDepth)") }
            guard pos < bytes.count else { throw fail("unexpected end of input") }
            switch bytes[pos] {
            case UInt8(ascii: "{"):
                pos += 1
                var members: [(key: String, value: JSONValue)] = []
                var seen = Set<String>()
                skipSpace()
                if pos < bytes.count, bytes[pos] == UInt8(ascii: "}") { pos += 1; return .object(members) }
                while true {
                    skipSpace()
                    guard pos < bytes.count, bytes[pos] == UInt8(ascii: "\"") else { throw fail("expected a string key") }
                    let keyAt = pos
                    let key = try string()
                    guard seen.insert(key).inserted else {
                        throw JSONParseError(offset: keyAt, message: "duplicate key \(JSON.quote(key))")
                    }
                    skipSpace()
                    try expect(":")
                    skipSpace()
                    members.append((key, try value(depth: depth + 1)))
                    skipSpace()
                    guard pos < bytes.count else { throw fail("unterminated object") }
                    if bytes[pos] == UInt8(ascii: ",") { pos += 1; continue }
                    if bytes[pos] == UInt8(ascii: "}") { pos += 1; return .object(members) }
                    throw fail("expected ',' or '}' in object")
                }
            case UInt8(ascii: "["):
                pos += 1
                var items: [JSONValue] = []
                skipSpace()
                if pos < bytes.count, bytes[pos] == UInt8(ascii: "]") { pos += 1; return .array(items) }
                while true {
                    skipSpace()
                    items.append(try value(depth: depth + 1))
                    skipSpace()
                    guard pos < bytes.count else { throw fail("unterminated array") }
                    if bytes[pos] == UInt8(ascii: ",") { pos += 1; continue }
                    if bytes[pos] == UInt8(ascii: "]") { pos += 1; return .array(items) }
                    throw fail("expected ',' or ']' in array")
                }
            case UInt8(ascii: "\""):
                return .string(try string())
            case UInt8(ascii: "t"): try expect("true"); return .bool(true)
            case UInt8(ascii: "f"): try expect("false"); return .bool(false)
            case UInt8(ascii: "n"): try expect("null"); return .null
            default:
                return .number(try number())
            }
        }

        mutating func number() throws -> String {
            let start = pos
            func digits() -> Int {
                let s = pos
                while pos < bytes.count, bytes[pos] >= 0x30, bytes[pos] <= 0x39 { pos += 1 }
                return pos - s
            }
            if pos < bytes.count, bytes[pos] == UInt8(ascii: "-") { pos += 1 }
            let intStart = pos
            let n = digits()
            guard n > 0 else { throw JSONParseError(offset: start, message: "expected a value") }
            guard n == 1 || bytes[intStart] != UInt8(ascii: "0") else {
                throw JSONParseError(offset: start, message: "number with a leading zero")
            }
            if pos < bytes.count, bytes[pos] == UInt8(ascii: ".") {
                pos += 1
                guard digits() > 0 else { throw fail("expected digits after '.'") }
            }
            if pos < bytes.count, bytes[pos] == UInt8(ascii: "e") || bytes[pos] == UInt8(ascii: "E") {
                pos += 1
                if pos < bytes.count, bytes[pos] == UInt8(ascii: "+") || bytes[pos] == UInt8(ascii: "-") { pos += 1 }
                guard digits() > 0 else { throw fail("expected digits in exponent") }
            }
            return String(decoding: bytes[start..<pos], as: UTF8.self)
        }

        mutating func hex4() throws -> UInt32 {
            guard bytes.count - pos >= 4 else { throw fail("truncated \\u escape") }
            var v: UInt32 = 0
            for _ in 0..<4 {
                guard let d = Character(UnicodeScalar(bytes[pos])).hexDigitValue else { throw fail("bad \\u escape") }
                v = v * 16 + UInt32(d)
                pos += 1
            }
            return v
        }

        mutating func string() throws -> String {
            pos += 1  // opening quote
            var out: [UInt8] = []
            while true {
                guard pos < bytes.count else { throw fail("unterminated string") }
                let c = bytes[pos]
                pos += 1
                switch c {
                case UInt8(ascii: "\""):
                    guard let s = String(validating: out, as: UTF8.self) else {
                        throw fail("string is not valid UTF-8")
                    }
                    return s
                case UInt8(ascii: "\\"):
                    guard pos < bytes.count else { throw fail("unterminated string") }
                    let e = bytes[pos]
                    pos += 1
                    switch e {
                    case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): out.append(e)
                    case UInt8(ascii: "b"): out.append(0x08)
                    case UInt8(ascii: "f"): out.append(0x0c)
                    case UInt8(ascii: "n"): out.append(0x0a)
                    case UInt8(ascii: "r"): out.append(0x0d)
                    case UInt8(ascii: "t"): out.append(0x09)
                    case UInt8(ascii: "u"):
                        var v = try hex4()
                        if (0xd800..<0xdc00).contains(v) {
                            try expect("\\u")
                            let lo = try hex4()
                            guard (0xdc00..<0xe000).contains(lo) else { throw fail("unpaired surrogate") }
                            v = 0x10000 + ((v - 0xd800) << 10) + (lo - 0xdc00)
                        }
                        guard let scalar = UnicodeScalar(v) else { throw fail("invalid \\u escape") }
                        out += Array(String(Character(scalar)).utf8)
                    default: throw fail("invalid escape character")
                    }
                case 0..<0x20:
                    throw fail("unescaped control character in string")
                default:
                    out.append(c)
                }
            }
        }
    }
}
