import CYAML
import NetcIR

/// Bounds that keep hostile input from crashing, hanging or exhausting memory.
public struct YAMLLimits: Hashable, Sendable {
    /// Largest accepted file, in bytes.
    public var maxBytes: Int
    /// Deepest nesting of lists and mappings, counting through aliases.
    public var maxDepth: Int
    /// Most nodes the document may stand for once every alias is expanded.
    public var maxNodes: Int

    public init(maxBytes: Int = 1 << 20, maxDepth: Int = 64, maxNodes: Int = 100_000) {
        self.maxBytes = maxBytes
        self.maxDepth = maxDepth
        self.maxNodes = maxNodes
    }

    public static let `default` = YAMLLimits()
}

/// Composes one YAML document into a located node tree.
///
/// `root` is nil when the document could not be composed (syntax error, a limit, an
/// empty file, an undefined alias, ...). Duplicate keys are reported but do not drop
/// the tree: the first occurrence is kept so later stages can report more errors.
/// Diagnostics come sorted by location.
public func composeYAML(_ text: String, file: String,
                        limits: YAMLLimits = .default) -> (root: YAMLNode?, diagnostics: [Diagnostic]) {
    let count = text.utf8.count
    if count > limits.maxBytes { return (nil, [YAMLComposer.tooLarge(count, file: file, limits: limits)]) }
    return composeYAML(bytes: Array(text.utf8), file: file, limits: limits)
}

/// The same from raw file contents: use this when reading files, so NUL bytes and
/// invalid UTF-8 are reported at the first bad byte instead of being replaced.
public func composeYAML(bytes: [UInt8], file: String,
                        limits: YAMLLimits = .default) -> (root: YAMLNode?, diagnostics: [Diagnostic]) {
    if bytes.count > limits.maxBytes { return (nil, [YAMLComposer.tooLarge(bytes.count, file: file, limits: limits)]) }
    let start = SourceLocation(file: file, line: 1, column: 1)
    if let problem = YAMLBinaryCheck.firstProblem(in: bytes) {
        // Everything before the bad byte is valid UTF-8, so a map of that prefix places it.
        let offset: Int
        let message: String
        switch problem {
        case .nul(let o):
            offset = o
            message = "file contains a NUL byte (at byte offset \(o)); this looks like a binary file, not YAML text"
        case .invalidUTF8(let o, let b):
            offset = o
            message = "file is not valid UTF-8: unexpected byte 0x\(String(b, radix: 16, uppercase: true)) at byte offset \(o)"
        }
        let map = YAMLSourceMap(bytes: Array(bytes[..<offset]), file: file)
        return (nil, [.error(message, at: map.location(byte: offset),
                             help: "netc reads specs as UTF-8 text; check that this is the right file and save it as UTF-8")])
    }
    if bytes.isEmpty { return (nil, [YAMLComposer.empty(at: start)]) }
    let composer = YAMLComposer(bytes: bytes, file: file, limits: limits)
    return composer.run()
}

final class YAMLComposer {
    private struct Frame {
        var isMapping: Bool
        var location: SourceLocation
        var tag: String?
        var anchor: String?
        var children: [YAMLNode] = []
        var size = 1
        var height = 0
    }

    private struct Anchored {
        var node: YAMLNode
        var size: Int
        var height: Int
    }

    private let limits: YAMLLimits
    private var map: YAMLSourceMap
    private var file: String { map.file }
    private var diagnostics: [Diagnostic] = []
    private var stack: [Frame] = []
    private var anchors: [String: Anchored] = [:]
    private var root: YAMLNode?
    private var nodeCount = 0
    private var documents = 0
    private var firstDocument: SourceLocation?
    private var aborted = false
    private var treeValid = true

    init(bytes: [UInt8], file: String, limits: YAMLLimits) {
        self.limits = limits
        self.map = YAMLSourceMap(bytes: bytes, file: file)
    }

    static func tooLarge(_ size: Int, file: String, limits: YAMLLimits) -> Diagnostic {
        .error("file is too large: \(size) bytes (the limit is \(limits.maxBytes) bytes)",
               at: SourceLocation(file: file, line: 1, column: 1),
               help: "a network spec is a short text file; check that this is the right file")
    }

    static func empty(at location: SourceLocation) -> Diagnostic {
        .error("file is empty: it holds no YAML content", at: location,
               help: "write the network spec as a YAML mapping in this file")
    }

    func run() -> (root: YAMLNode?, diagnostics: [Diagnostic]) {
        var parser = yaml_parser_t()
        guard yaml_parser_initialize(&parser) == 1 else {
            return (nil, [.error("could not start the YAML parser (out of memory)", at: nil)])
        }
        defer { yaml_parser_delete(&parser) }
        map.bytes.withUnsafeBufferPointer { buffer in
            yaml_parser_set_input_string(&parser, buffer.baseAddress, buffer.count)
            // No yaml_parser_set_encoding: autodetection is what skips a UTF-8 byte-order
            // mark, and UTF-16 input never gets here (its BOM is invalid UTF-8).
            var event = yaml_event_t()
            while !aborted {
                guard yaml_parser_parse(&parser, &event) == 1 else {
                    syntaxError(parser)
                    break
                }
                let done = event.type == YAML_STREAM_END_EVENT
                handle(event)
                yaml_event_delete(&event)
                if done { break }
            }
        }
        if !aborted {
            finishDocument()
        }
        let sorted = diagnostics.enumerated().sorted { a, b in
            switch (a.element.location, b.element.location) {
            case let (x?, y?) where x != y: return x < y
            default: return a.offset < b.offset
            }
        }.map(\.element)
        return (aborted || !treeValid ? nil : root, sorted)
    }

    private func finishDocument() {
        let start = SourceLocation(file: file, line: 1, column: 1)
        if documents == 0 {
            diagnostics.append(Self.empty(at: start))
            treeValid = false
        } else if let root, root.tag == nil, root.anchor == nil, case .scalar(let s) = root.kind,
                  s.style == .plain, s.text.isEmpty {
            diagnostics.append(Self.empty(at: firstDocument ?? start))
            treeValid = false
        }
    }

    private func abort(_ d: Diagnostic) {
        diagnostics.append(d)
        aborted = true
    }

    // MARK: Events

    private func handle(_ event: yaml_event_t) {
        switch event.type {
        case YAML_DOCUMENT_START_EVENT:
            documents += 1
            let loc = span(event.start_mark, event.end_mark)
            if documents == 1 {
                firstDocument = loc
            } else {
                abort(.error("a second YAML document starts here; netc reads one spec per file", at: loc,
                             help: "move each network into its own file"))
            }
        case YAML_SCALAR_EVENT:
            let s = event.data.scalar
            let anchor = Self.string(s.anchor), tag = Self.string(s.tag)
            let loc = tokenLocation(event, skippingProperties: anchor != nil || tag != nil)
            guard count(1, at: loc) else { return }
            let text = String(decoding: UnsafeBufferPointer(start: s.value, count: Int(s.length)), as: UTF8.self)
            let style: YAMLScalar.Style
            switch s.style {
            case YAML_SINGLE_QUOTED_SCALAR_STYLE: style = .singleQuoted
            case YAML_DOUBLE_QUOTED_SCALAR_STYLE: style = .doubleQuoted
            case YAML_LITERAL_SCALAR_STYLE: style = .literal
            case YAML_FOLDED_SCALAR_STYLE: style = .folded
            default: style = .plain
            }
            add(YAMLNode(.scalar(YAMLScalar(text, style: style)), at: loc, tag: tag, anchor: anchor),
                size: 1, height: 0, define: true)
        case YAML_SEQUENCE_START_EVENT, YAML_MAPPING_START_EVENT:
            let isMapping = event.type == YAML_MAPPING_START_EVENT
            let anchor = Self.string(isMapping ? event.data.mapping_start.anchor : event.data.sequence_start.anchor)
            let tag = Self.string(isMapping ? event.data.mapping_start.tag : event.data.sequence_start.tag)
            let loc = collectionLocation(event.start_mark, hasProperties: anchor != nil || tag != nil)
            if stack.count >= limits.maxDepth {
                abort(.error("\(isMapping ? "mapping" : "list") is nested too deeply (more than \(limits.maxDepth) levels)",
                             at: loc, help: "a network spec needs only a few levels of nesting"))
                return
            }
            guard count(1, at: loc) else { return }
            stack.append(Frame(isMapping: isMapping, location: loc, tag: tag, anchor: anchor))
        case YAML_SEQUENCE_END_EVENT:
            guard let frame = stack.popLast() else { return }
            add(YAMLNode(.sequence(frame.children), at: frame.location, tag: frame.tag, anchor: frame.anchor),
                size: frame.size, height: frame.height + 1, define: true)
        case YAML_MAPPING_END_EVENT:
            guard let frame = stack.popLast() else { return }
            let entries = buildMapping(frame.children)
            add(YAMLNode(.mapping(entries), at: frame.location, tag: frame.tag, anchor: frame.anchor),
                size: frame.size, height: frame.height + 1, define: true)
        case YAML_ALIAS_EVENT:
            alias(event)
        default:
            break   // stream start/end, document end
        }
    }

    /// Counts `n` more nodes of the expanded document; false (after a diagnostic) past the limit.
    private func count(_ n: Int, at loc: SourceLocation, alias: (name: String, anchor: SourceLocation)? = nil) -> Bool {
        nodeCount += n
        guard nodeCount > limits.maxNodes else { return true }
        if let alias {
            abort(.error("expanding alias '*\(alias.name)' would make the document more than \(limits.maxNodes) nodes",
                         at: loc, help: "aliases that repeat other aliases multiply (a 'billion laughs' expansion); reuse fewer levels",
                         notes: [.init("anchor '&\(alias.name)' is defined here", at: alias.anchor)]))
        } else {
            abort(.error("document has more than \(limits.maxNodes) nodes", at: loc,
                         help: "a network spec is much smaller than this; check that this is the right file"))
        }
        return false
    }

    private func add(_ node: YAMLNode, size: Int, height: Int, define: Bool) {
        if define, let name = node.anchor {
            anchors[name] = Anchored(node: node, size: size, height: height)
        }
        if stack.isEmpty {
            root = node
        } else {
            stack[stack.count - 1].children.append(node)
            stack[stack.count - 1].size += size
            stack[stack.count - 1].height = max(stack[stack.count - 1].height, height)
        }
    }

    private func alias(_ event: yaml_event_t) {
        let name = Self.string(event.data.alias.anchor) ?? ""
        let use = span(event.start_mark, event.end_mark)
        if let open = stack.last(where: { $0.anchor == name }) {
            diagnostics.append(.error("alias '*\(name)' refers to a node that contains it", at: use,
                                      help: "a node cannot include itself",
                                      notes: [.init("anchor '&\(name)' is defined here", at: open.location)]))
            treeValid = false
            add(YAMLNode(.scalar(YAMLScalar("")), at: use), size: 1, height: 0, define: false)
            return
        }
        guard let target = anchors[name] else {
            diagnostics.append(.error("alias '*\(name)' refers to an anchor that is not defined", at: use,
                                      help: "define it with '&\(name)' on a node written before this alias"))
            treeValid = false
            add(YAMLNode(.scalar(YAMLScalar("")), at: use), size: 1, height: 0, define: false)
            return
        }
        if stack.count + target.height > limits.maxDepth {
            abort(.error("alias '*\(name)' nests the document too deeply (more than \(limits.maxDepth) levels)", at: use,
                         help: "a network spec needs only a few levels of nesting",
                         notes: [.init("anchor '&\(name)' is defined here", at: target.node.location)]))
            return
        }
        guard count(target.size, at: use, alias: (name, target.node.location)) else { return }
        var node = target.node
        node.aliasLocation = use
        add(node, size: target.size, height: target.height, define: false)
    }

    // MARK: Mappings: duplicate keys and merge keys

    private func buildMapping(_ children: [YAMLNode]) -> [YAMLNode.Entry] {
        var entries: [YAMLNode.Entry] = []
        var firstKey: [String: YAMLNode] = [:]
        var merges: [(position: Int, key: YAMLNode, value: YAMLNode)] = []
        var i = 0
        while i + 1 < children.count {
            let key = children[i], value = children[i + 1]
            i += 2
            guard let text = key.scalar?.text else {
                diagnostics.append(.error("mapping key must be a name, not \(key.kindDescription)", at: key.location,
                                          help: "write keys as plain names, e.g. 'channels: 64'"))
                treeValid = false
                continue
            }
            if let first = firstKey[text] {
                diagnostics.append(.error("duplicate key '\(YAMLNode.excerpt(text))' in mapping", at: key.location,
                                          help: "remove one of them; YAML keys must be unique within a mapping",
                                          notes: [.init("'\(YAMLNode.excerpt(text))' was first defined here", at: first.location)]))
                continue
            }
            firstKey[text] = key
            if text == "<<", key.tag == nil, key.scalar?.style == .plain {
                merges.append((entries.count, key, value))
            } else {
                entries.append((key, value))
            }
        }
        guard !merges.isEmpty else { return entries }

        var merged: [[YAMLNode.Entry]] = []
        var taken = Set(firstKey.keys)
        for m in merges {
            let sources: [YAMLNode]
            if m.value.isMapping {
                sources = [m.value]
            } else if let items = m.value.sequence, items.allSatisfy(\.isMapping) {
                sources = items
            } else {
                diagnostics.append(.error("merge key '<<' needs a mapping or a list of mappings, got \(m.value.kindDescription)",
                                          at: m.value.aliasLocation ?? m.value.location,
                                          help: "write '<<: *name' where '&name' marks a mapping"))
                treeValid = false
                merged.append([])
                continue
            }
            var added: [YAMLNode.Entry] = []
            for source in sources {
                let via = source.aliasLocation ?? m.key.location
                for e in source.mapping ?? [] {
                    guard let t = e.key.scalar?.text, !taken.contains(t) else { continue }
                    taken.insert(t)
                    var (k, v) = e
                    k.aliasLocation = via
                    v.aliasLocation = via
                    added.append((k, v))
                }
            }
            merged.append(added)
        }
        var result: [YAMLNode.Entry] = []
        var next = 0
        for (position, m) in zip(merges.map(\.position), merged) {
            result += entries[next..<position]
            result += m
            next = position
        }
        result += entries[next...]
        return result
    }

    // MARK: Locations

    private func span(_ start: yaml_mark_t, _ end: yaml_mark_t) -> SourceLocation {
        let s = map.position(codePoint: Int(start.index))
        let e = map.position(codePoint: Int(end.index))
        return SourceLocation(file: file, line: s.line, column: s.column, length: map.tokenWidth(from: s.byte, to: e.byte))
    }

    /// A scalar's token, after any `&anchor` and `!tag` in front of it.
    private func tokenLocation(_ event: yaml_event_t, skippingProperties: Bool) -> SourceLocation {
        let startCP = Int(event.start_mark.index)
        var s = map.position(codePoint: startCP)
        if skippingProperties {
            let endByte = min(map.bytes.count, s.byte + 4 * max(0, Int(event.end_mark.index) - startCP))
            let skipped = skipProperties(from: s.byte, limit: endByte)
            if skipped > 0 { s = map.position(codePoint: startCP + skipped) }
        }
        let e = map.position(codePoint: Int(event.end_mark.index))
        return SourceLocation(file: file, line: s.line, column: s.column, length: map.tokenWidth(from: s.byte, to: e.byte))
    }

    /// Code points of anchors, tags, blanks and comments before a node's own token.
    private func skipProperties(from start: Int, limit: Int) -> Int {
        let b = map.bytes
        var i = start, cps = 0
        func step() {
            if b[i] & 0xC0 != 0x80 { cps += 1 }
            i += 1
        }
        let blank: Set<UInt8> = [0x20, 0x09, 0x0A, 0x0D]
        let stop: Set<UInt8> = [0x20, 0x09, 0x0A, 0x0D, UInt8(ascii: ","), UInt8(ascii: "["),
                                UInt8(ascii: "]"), UInt8(ascii: "{"), UInt8(ascii: "}")]
        while i < limit {
            let c = b[i]
            if c == UInt8(ascii: "&") || c == UInt8(ascii: "!") {
                if c == UInt8(ascii: "!"), i + 1 < limit, b[i + 1] == UInt8(ascii: "<") {
                    while i < limit && b[i] != UInt8(ascii: ">") { step() }
                    if i < limit { step() }
                } else {
                    while i < limit && !stop.contains(b[i]) { step() }
                }
            } else if blank.contains(c) {
                step()
            } else if c == UInt8(ascii: "#") {
                while i < limit && b[i] != 0x0A { step() }
            } else {
                break
            }
        }
        return cps
    }

    /// A collection starts at `[`, `{`, `-`, its first key, or its properties (`&base` underlined).
    private func collectionLocation(_ mark: yaml_mark_t, hasProperties: Bool) -> SourceLocation {
        let s = map.position(codePoint: Int(mark.index))
        var width = 1
        if hasProperties {
            var e = s.byte
            while e < map.bytes.count, ![0x20, 0x09, 0x0A, 0x0D].contains(map.bytes[e]) { e += 1 }
            width = map.tokenWidth(from: s.byte, to: e)
        }
        return SourceLocation(file: file, line: s.line, column: s.column, length: width)
    }

    // MARK: Syntax errors

    private func syntaxError(_ parser: yaml_parser_t) {
        let problem = Self.string(parser.problem) ?? "invalid YAML"
        switch parser.error {
        case YAML_MEMORY_ERROR:
            abort(.error("out of memory while parsing YAML", at: nil))
        case YAML_READER_ERROR:
            let offset = Int(parser.problem_offset)
            var message = "invalid text: \(problem)"
            var help: String? = nil
            if parser.problem_value >= 0 {
                let hex = String(parser.problem_value, radix: 16, uppercase: true)
                message += " (U+\(String(repeating: "0", count: max(0, 4 - hex.count)) + hex))"
                help = "remove the character; inside double quotes it can be written as an escape such as \"\\x\(hex.count < 2 ? "0" + hex : hex)\""
            }
            abort(.error(message, at: map.location(byte: offset), help: help))
        default:
            let context = Self.string(parser.context)
            let at = markLocation(parser.problem_mark)
            var notes: [Diagnostic.Note] = []
            if let context, parser.context_mark.index != parser.problem_mark.index {
                notes.append(.init("\(Self.noun(of: context)) starts here", at: markLocation(parser.context_mark)))
            }
            let message = context.map { "\(problem) \($0)" } ?? problem
            abort(.error(message, at: at, help: helpFor(problem: problem, context: context, at: at, contextAt: notes.first?.location),
                         notes: notes))
        }
    }

    private func markLocation(_ mark: yaml_mark_t) -> SourceLocation {
        var p = map.position(codePoint: Int(mark.index))
        if p.byte >= map.bytes.count {
            // "Unexpected end of stream": point just past the last thing written, not at an empty last line.
            let end = map.endOfContent
            let q = map.position(byte: end)
            p = (end, q.line, q.column)
        }
        return SourceLocation(file: file, line: p.line, column: p.column)
    }

    private func character(at loc: SourceLocation) -> Character? {
        guard let line = DiagnosticLine.line(loc.line, of: map.bytes) else { return nil }
        let chars = Array(line)
        return loc.column - 1 < chars.count ? chars[loc.column - 1] : nil
    }

    private func helpFor(problem: String, context: String?, at: SourceLocation, contextAt: SourceLocation?) -> String? {
        let ch = character(at: at)
        let ctx = context ?? ""
        if ch == "\t" || problem.contains("tab") {
            return "YAML does not allow tabs for indentation; indent with spaces"
        }
        if problem.contains("found unexpected end of stream") && ctx.contains("quoted scalar") {
            return "close the quoted string" + (contextAt.map { " that opens at line \($0.line)" } ?? "")
        }
        if ctx.contains("flow sequence") {
            return "close the list with ']' and separate its items with ','"
                + (contextAt.map { " (the '[' is at line \($0.line), column \($0.column))" } ?? "")
        }
        if ctx.contains("flow mapping") {
            return "close the mapping with '}' and separate its entries with ','"
                + (contextAt.map { " (the '{' is at line \($0.line), column \($0.column))" } ?? "")
        }
        if problem.contains("mapping values are not allowed") {
            return "a value containing ': ' must be quoted; otherwise check this line's indentation"
        }
        if problem.contains("did not find expected key") || problem.contains("did not find expected '-' indicator") {
            return "check the indentation of this line: it must line up with the other entries of its \(ctx.contains("mapping") ? "mapping" : "list")"
        }
        if problem.contains("could not find expected ':'") {
            return "a key must be followed by ':' on the same line; quote the text if it is not a key"
        }
        if problem.contains("cannot start any token"), let ch, ch == "@" || ch == "`" || ch == "%" {
            return "'\(ch)' cannot start a plain value in YAML; put the value in quotes"
        }
        if problem.contains("unknown escape character") {
            return "inside double quotes write a backslash as '\\\\', or use single quotes"
        }
        if problem.contains("undefined tag handle") {
            return "use a known tag such as '!!str', or remove the tag"
        }
        return nil
    }

    /// "while scanning a quoted scalar" -> "the quoted scalar".
    static func noun(of context: String) -> String {
        var s = Substring(context)
        for prefix in ["while scanning ", "while parsing "] where s.hasPrefix(prefix) { s = s.dropFirst(prefix.count) }
        for article in ["an ", "a "] where s.hasPrefix(article) { return "the " + s.dropFirst(article.count) }
        return String(s)
    }

    static func string(_ p: UnsafeMutablePointer<yaml_char_t>?) -> String? {
        guard let p else { return nil }
        return String(cString: p)
    }

    static func string(_ p: UnsafePointer<CChar>?) -> String? {
        guard let p else { return nil }
        return String(cString: p)
    }
}

/// Line lookup on raw bytes for help heuristics.
enum DiagnosticLine {
    static func line(_ n: Int, of bytes: [UInt8]) -> String? {
        var current = 1, start = 0
        while current < n {
            guard let nl = bytes[start...].firstIndex(of: 0x0A) else { return nil }
            start = nl + 1
            current += 1
        }
        var end = start
        while end < bytes.count && bytes[end] != 0x0A && bytes[end] != 0x0D { end += 1 }
        return String(decoding: bytes[start..<end], as: UTF8.self)
    }
}
