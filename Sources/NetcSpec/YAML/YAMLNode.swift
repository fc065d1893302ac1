import NetcIR

/// A scalar exactly as written: netc never guesses types the way YAML 1.1 does
/// (`no`, `on`, `1e3`, `0x10`, `012`, `~` all stay strings here). A schema asks for
/// the type it expects through `int`, `double`, `bool` and `isNull`, which follow the
/// YAML 1.2 core schema for plain scalars only; a quoted or tagged scalar is always a string.
public struct YAMLScalar: Hashable, Sendable {
    public enum Style: String, Hashable, Sendable {
        case plain, singleQuoted, doubleQuoted, literal, folded
    }

    public var text: String
    public var style: Style

    public init(_ text: String, style: Style = .plain) {
        self.text = text
        self.style = style
    }

    /// Whether typed accessors may read this scalar: plain, and not forced to a string by a tag.
    var isResolvable: Bool { style == .plain }

    /// A decimal integer with an optional sign (`64`, `-3`, `+7`); nil for `2.5`, `1e3`, `0x10`,
    /// quoted scalars, and values that do not fit in `Int`.
    public var int: Int? {
        guard isResolvable, Self.isDecimalInteger(text.utf8) else { return nil }
        return Int(text)
    }

    /// A finite decimal number: integers, `0.01`, `.5`, `5.`, `1e-5`, `-2.5E+3`; nil for
    /// `.inf`, `.nan`, hex, quoted scalars and numbers too large for `Double`.
    public var double: Double? {
        guard isResolvable, Self.isDecimalNumber(text.utf8), let d = Double(text), d.isFinite else { return nil }
        return d
    }

    /// `true` or `false`, nothing else (not `yes`, `on`, `True`).
    public var bool: Bool? {
        guard isResolvable else { return nil }
        switch text {
        case "true": return true
        case "false": return false
        default: return nil
        }
    }

    /// `null`, `~`, or nothing at all (`key:`); a quoted `"null"` is a string.
    public var isNull: Bool {
        isResolvable && (text.isEmpty || text == "null" || text == "~")
    }

    static func isDecimalInteger(_ u: String.UTF8View) -> Bool {
        var it = u.makeIterator()
        var c = it.next()
        if c == UInt8(ascii: "+") || c == UInt8(ascii: "-") { c = it.next() }
        var digits = 0
        while let d = c, d >= 0x30 && d <= 0x39 { digits += 1; c = it.next() }
        return digits > 0 && c == nil
    }

    static func isDecimalNumber(_ u: String.UTF8View) -> Bool {
        let b = Array(u)
        var i = 0
        func digits() -> Int {
            let s = i
            while i < b.count, b[i] >= 0x30 && b[i] <= 0x39 { i += 1 }
            return i - s
        }
        if i < b.count, b[i] == UInt8(ascii: "+") || b[i] == UInt8(ascii: "-") { i += 1 }
        var mantissa = digits()
        if i < b.count, b[i] == UInt8(ascii: ".") { i += 1; mantissa += digits() }
        guard mantissa > 0 else { return false }
        if i < b.count, b[i] == UInt8(ascii: "e") || b[i] == UInt8(ascii: "E") {
            i += 1
            if i < b.count, b[i] == UInt8(ascii: "+") || b[i] == UInt8(ascii: "-") { i += 1 }
            guard digits() > 0 else { return false }
        }
        return i == b.count
    }
}

/// One node of a composed YAML document, with the place it was written.
///
/// Locations: a scalar's `location` covers its token as written (quotes included, first
/// line only) so a caret underlines it; a collection's starts at its first character
/// (`[`, `{`, `-`, its first key, or its `&anchor`). A node reached through an alias or
/// a merge key keeps the location of its definition, and `aliasLocation` says where it was used.
public struct YAMLNode: Sendable, CustomStringConvertible {
    public typealias Entry = (key: YAMLNode, value: YAMLNode)

    public enum Kind: Sendable {
        case scalar(YAMLScalar)
        case sequence([YAMLNode])
        /// Entries in source order; merge-key (`<<`) entries are already merged in.
        case mapping([Entry])
    }

    public var kind: Kind
    public var location: SourceLocation
    /// The explicit tag, resolved by libyaml (`!!str` becomes `tag:yaml.org,2002:str`); nil if none.
    public var tag: String?
    /// The anchor defined on this node (`&name`), if any.
    public var anchor: String?
    /// Where this node was brought in by an alias (`*name`) or a merge key (`<<`), if it was.
    public var aliasLocation: SourceLocation?

    public init(_ kind: Kind, at location: SourceLocation, tag: String? = nil,
                anchor: String? = nil, aliasLocation: SourceLocation? = nil) {
        self.kind = kind
        self.location = location
        self.tag = tag
        self.anchor = anchor
        self.aliasLocation = aliasLocation
    }

    // MARK: Shape

    /// The scalar as written. Prefer the node's `int`/`double`/`bool`/`isNull`, which
    /// also treat a tagged scalar (`!!str 5`) as a string.
    public var scalar: YAMLScalar? {
        if case .scalar(let s) = kind { return s }
        return nil
    }
    public var sequence: [YAMLNode]? {
        if case .sequence(let items) = kind { return items }
        return nil
    }
    public var mapping: [Entry]? {
        if case .mapping(let entries) = kind { return entries }
        return nil
    }
    public var isScalar: Bool { scalar != nil }
    public var isSequence: Bool { sequence != nil }
    public var isMapping: Bool { mapping != nil }

    // MARK: Typed scalar reads (nil on mismatch: the caller writes the diagnostic)

    /// The text of any scalar (any style); nil for lists and mappings.
    public var string: String? { scalar?.text }
    public var int: Int? { typed?.int }
    public var double: Double? { typed?.double }
    public var bool: Bool? { typed?.bool }
    /// True for plain untagged `null`, `~` or an empty value.
    public var isNull: Bool { typed?.isNull ?? false }

    /// The scalar if typed accessors may resolve it: a tagged scalar (`!!str 5`, `!x 5`) is a string.
    private var typed: YAMLScalar? {
        guard tag == nil, case .scalar(let s) = kind else { return nil }
        return s
    }

    // MARK: Mapping lookup

    /// The entry whose scalar key's text is `key` (any quoting), with both nodes for locations.
    public func entry(_ key: String) -> Entry? {
        mapping?.first { $0.key.scalar?.text == key }
    }

    /// The value for a scalar key; nil if absent or if this is not a mapping.
    public subscript(key: String) -> YAMLNode? { entry(key)?.value }

    /// The keys of a mapping, in order.
    public var keys: [String] { mapping?.compactMap { $0.key.scalar?.text } ?? [] }

    // MARK: Descriptions

    /// What this node is, for messages: "a mapping", "a list", "the string 'sixty-four'",
    /// "the number 2.5", "the boolean true", "null", "an empty value".
    public var kindDescription: String {
        switch kind {
        case .mapping: return "a mapping"
        case .sequence: return "a list"
        case .scalar(let s):
            if tag == nil && s.isResolvable {
                if s.text.isEmpty { return "an empty value" }
                if s.isNull { return "null" }
                if let b = s.bool { return "the boolean \(b)" }
                if s.double != nil { return "the number \(s.text)" }
            }
            return "the string '\(Self.excerpt(s.text))'"
        }
    }

    static func excerpt(_ text: String, limit: Int = 40) -> String {
        var firstLine = Substring(text)
        var cut = false
        if let nl = text.firstIndex(where: { $0 == "\n" || $0 == "\r\n" || $0 == "\r" }) {
            firstLine = text[..<nl]
            cut = text[nl...].contains { !$0.isWhitespace }
        }
        if firstLine.count > limit { firstLine = firstLine.prefix(limit); cut = true }
        return cut ? firstLine + "…" : String(firstLine)
    }

    /// A one-line flow rendering, for tests and debugging: `{a: 1, b: ["x", y]}`.
    /// Non-plain scalars are shown double-quoted. Depth is bounded by the composer's limits.
    public var description: String {
        var out = ""
        write(to: &out)
        return out
    }

    private func write(to out: inout String) {
        if let tag { out += "!<\(tag)> " }
        switch kind {
        case .scalar(let s):
            if s.style == .plain {
                out += s.text
            } else {
                out += "\""
                for c in s.text.unicodeScalars {
                    switch c {
                    case "\\": out += "\\\\"
                    case "\"": out += "\\\""
                    case "\n": out += "\\n"
                    default: out.unicodeScalars.append(c)
                    }
                }
                out += "\""
            }
        case .sequence(let items):
            out += "["
            for (i, item) in items.enumerated() {
                if i > 0 { out += ", " }
                item.write(to: &out)
            }
            out += "]"
        case .mapping(let entries):
            out += "{"
            for (i, e) in entries.enumerated() {
                if i > 0 { out += ", " }
                e.key.write(to: &out)
                out += ": "
                e.value.write(to: &out)
            }
            out += "}"
        }
    }
}
