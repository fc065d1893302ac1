import NetcIR

/// Turns libyaml marks into `SourceLocation`s.
///
/// libyaml 0.2.5 counts `mark.index` in code points (after a byte-order mark, which
/// it skips); a `SourceLocation` counts columns in Characters, like the
/// `DiagnosticRenderer` that draws the caret, and lines split on "\n". This map
/// keeps one line table in both units and a cursor, so the (mostly increasing)
/// marks of one parse convert in time linear in the input.
struct YAMLSourceMap {
    let bytes: [UInt8]
    let file: String
    /// Bytes of a UTF-8 byte-order mark at the start (0 or 3); libyaml does not count it.
    let bomLength: Int
    private var lineStartByte: [Int] = [0]
    private var lineStartCP: [Int] = [0]
    private var totalCP = 0
    /// The last converted position: byte, code point, 0-based line and 1-based column.
    private var cursor = (byte: 0, cp: 0, line: 0, column: 1)
    /// Earlier cursors, at least `checkpointStride` code points apart, so a mark behind the
    /// cursor on a very long line costs a short walk, not one from the start of the line.
    private var checkpoints: [(byte: Int, cp: Int, line: Int, column: Int)] = []
    private let checkpointStride = 1024

    /// `bytes` must already be valid UTF-8.
    init(bytes: [UInt8], file: String) {
        self.bytes = bytes
        self.file = file
        bomLength = bytes.starts(with: [0xEF, 0xBB, 0xBF]) ? 3 : 0
        var cp = 0
        var i = bomLength
        while i < bytes.count {
            let b = bytes[i]
            if b & 0xC0 != 0x80 { cp += 1 }
            if b == 0x0A {
                lineStartByte.append(i + 1)
                lineStartCP.append(cp)
            }
            i += 1
        }
        totalCP = cp
        lineStartByte[0] = bomLength
        cursor = (bomLength, 0, 0, 1)
    }

    /// Characters in `bytes[from..<to]` as a renderer would count them.
    func characters(from: Int, to: Int) -> Int {
        guard to > from else { return 0 }
        var ascii = true
        for i in from..<to where bytes[i] >= 0x80 { ascii = false; break }
        if ascii {
            // "\r\n" is one Character; everything else ASCII is one each.
            var n = to - from
            var i = from
            while i + 1 < to { if bytes[i] == 0x0D && bytes[i + 1] == 0x0A { n -= 1; i += 2 } else { i += 1 } }
            return n
        }
        return bytes[from..<to].withUnsafeBufferPointer { String(decoding: $0, as: UTF8.self).count }
    }

    /// The byte offset, 1-based line and 1-based Character column of a libyaml mark index.
    mutating func position(codePoint target: Int) -> (byte: Int, line: Int, column: Int) {
        let cp = min(max(0, target), totalCP)
        let line = Self.lastIndex(in: lineStartCP, notAbove: cp)
        var (byte, at, column) = (lineStartByte[line], lineStartCP[line], 1)
        if cursor.line == line && cursor.cp <= cp {
            (byte, at, column) = (cursor.byte, cursor.cp, cursor.column)
        } else if let k = checkpoints.lastIndex(where: { $0.cp <= cp }), checkpoints[k].line == line {
            // Checkpoints are few (one per stride) and in order; a linear scan from the end is enough.
            (byte, at, column) = (checkpoints[k].byte, checkpoints[k].cp, checkpoints[k].column)
        }
        let from = byte
        while at < cp && byte < bytes.count {
            byte += 1
            while byte < bytes.count && bytes[byte] & 0xC0 == 0x80 { byte += 1 }
            at += 1
        }
        column += characters(from: from, to: byte)
        cursor = (byte, cp, line, column)
        if cp >= (checkpoints.last?.cp ?? 0) + checkpointStride { checkpoints.append(cursor) }
        return (byte, line + 1, column)
    }

    /// The 1-based line and Character column of a byte offset (for reader errors and binary checks).
    func position(byte target: Int) -> (line: Int, column: Int) {
        let b = min(max(0, target), bytes.count)
        let line = Self.lastIndex(in: lineStartByte, notAbove: b)
        let start = min(lineStartByte[line], b)
        return (line + 1, characters(from: start, to: b) + 1)
    }

    func location(byte: Int, length: Int = 1) -> SourceLocation {
        let p = position(byte: byte)
        return SourceLocation(file: file, line: p.line, column: p.column, length: length)
    }

    /// Characters of the token `bytes[start..<end]` on its first line (the caret underline).
    func tokenWidth(from start: Int, to end: Int) -> Int {
        var stop = start
        let limit = min(end, bytes.count)
        while stop < limit && bytes[stop] != 0x0A && bytes[stop] != 0x0D { stop += 1 }
        return characters(from: start, to: stop)
    }

    /// Byte offset just after the last non-blank byte: where "unexpected end of file" should point.
    var endOfContent: Int {
        var i = bytes.count
        while i > bomLength, [0x20, 0x09, 0x0A, 0x0D].contains(bytes[i - 1]) { i -= 1 }
        return i
    }

    private static func lastIndex(in starts: [Int], notAbove value: Int) -> Int {
        var lo = 0, hi = starts.count - 1
        while lo < hi {
            let mid = (lo + hi + 1) / 2
            if starts[mid] <= value { lo = mid } else { hi = mid - 1 }
        }
        return lo
    }
}

/// The first byte that makes `bytes` unfit to be YAML text: a NUL or an invalid UTF-8 sequence.
enum YAMLBinaryCheck {
    case nul(offset: Int)
    case invalidUTF8(offset: Int, byte: UInt8)

    static func firstProblem(in bytes: [UInt8]) -> YAMLBinaryCheck? {
        var i = 0
        let n = bytes.count
        while i < n {
            let b = bytes[i]
            if b == 0 { return .nul(offset: i) }
            if b < 0x80 { i += 1; continue }
            let need: Int
            var lower: UInt8 = 0x80, upper: UInt8 = 0xBF
            switch b {
            case 0xC2...0xDF: need = 1
            case 0xE0: need = 2; lower = 0xA0
            case 0xE1...0xEC, 0xEE...0xEF: need = 2
            case 0xED: need = 2; upper = 0x9F          // no UTF-16 surrogates
            case 0xF0: need = 3; lower = 0x90
            case 0xF1...0xF3: need = 3
            case 0xF4: need = 3; upper = 0x8F          // nothing above U+10FFFF
            default: return .invalidUTF8(offset: i, byte: b)
            }
            for k in 1...need {
                guard i + k < n else { return .invalidUTF8(offset: i, byte: b) }
                let c = bytes[i + k]
                let (lo, hi): (UInt8, UInt8) = k == 1 ? (lower, upper) : (0x80, 0xBF)
                guard c >= lo && c <= hi else { return .invalidUTF8(offset: i, byte: b) }
            }
            i += need + 1
        }
        return nil
    }
}
