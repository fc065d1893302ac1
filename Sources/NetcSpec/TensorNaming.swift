import NetcIR

/// How a spec's tensors are named in PyTorch (`pytorch_names:`), as data: rules from a prefix of
/// netc's names to PyTorch's, the most specific matching rule winning. A pattern's segment
/// `{s}` matches a number and binds it; the replacement writes it back as `{s}`, `{s+1}` or
/// `{s-1}`. torchvision's ResNets are six rules:
///
///     pytorch_names:
///       stem.conv1: conv1
///       stem.bn1: bn1
///       stages.{s}.{b}: layer{s+1}.{b}
///       stages.{s}.{b}.conv3: layer{s+1}.{b}.downsample.0
///       stages.{s}.{b}.bn3: layer{s+1}.{b}.downsample.1
///       head.fc1: fc
///
/// A tensor no rule matches keeps its netc name.
public struct TensorNaming: Sendable {
    public struct Rule: Sendable {
        enum Segment: Equatable, Sendable { case literal(String), number(String) }
        enum Piece: Equatable, Sendable { case text(String), number(String, offset: Int) }
        var pattern: [Segment]
        var replacement: [Piece]
        public var location: SourceLocation
    }

    public var rules: [Rule]

    /// No rules: every tensor keeps netc's name.
    public static let identity = TensorNaming(rules: [])

    /// PyTorch's name for one of netc's (`stages.1.0.conv3.weight` -> `layer2.0.downsample.0.weight`).
    public func foreign(_ name: String) -> String {
        let parts = name.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        var best: (length: Int, text: String)?
        for rule in rules where rule.pattern.count <= parts.count && rule.pattern.count > (best?.length ?? 0) {
            var bound: [String: Int] = [:]
            let matches = zip(rule.pattern, parts).allSatisfy { segment, part in
                switch segment {
                case .literal(let text): return text == part
                case .number(let variable):
                    guard let n = Int(part), n >= 0, String(n) == part else { return false }
                    bound[variable] = n
                    return true
                }
            }
            guard matches else { continue }
            // A number the offset takes below 0 matches nothing (`{s-1}` on stage 0).
            var pieces: [String] = []
            for piece in rule.replacement {
                switch piece {
                case .text(let t): pieces.append(t)
                case .number(let v, let offset):
                    guard bound[v]! + offset >= 0 else { continue }   // offsets and bound numbers are small: no overflow
                    pieces.append(String(bound[v]! + offset))
                }
            }
            guard pieces.count == rule.replacement.count else { continue }
            let head = pieces.joined()
            best = (rule.pattern.count, ([head] + parts.dropFirst(rule.pattern.count)).joined(separator: "."))
        }
        return best?.text ?? name
    }

    /// Each of `names` with its PyTorch name, or the first two that would share one.
    public func foreignNames(_ names: [String]) -> Result<[String: String], NameClash> {
        var byForeign: [String: String] = [:], out: [String: String] = [:]
        for name in names {
            let f = foreign(name)
            if let other = byForeign[f] { return .failure(NameClash(first: other, second: name, foreign: f)) }
            byForeign[f] = name
            out[name] = f
        }
        return .success(out)
    }

    public struct NameClash: Error, Sendable, CustomStringConvertible {
        public var first: String, second: String, foreign: String
        public var description: String { "pytorch_names gives '\(first)' and '\(second)' the same name, '\(foreign)'" }
    }

    /// A rule from its two sides as written; nil with the reason when either is malformed.
    static func rule(pattern: String, replacement: String, at location: SourceLocation) -> Result<Rule, RuleError> {
        var segments: [Rule.Segment] = [], variables: Set<String> = []
        for part in pattern.split(separator: ".", omittingEmptySubsequences: false).map(String.init) {
            if part.hasPrefix("{") && part.hasSuffix("}") && part.count > 2 {
                let v = String(part.dropFirst().dropLast())
                guard v.allSatisfy({ $0.isLetter || $0 == "_" }), variables.insert(v).inserted else {
                    return .failure(RuleError("'\(part)' in '\(pattern)' is not a new variable such as '{s}'"))
                }
                segments.append(.number(v))
            } else if part.isEmpty || part.contains("{") || part.contains("}") {
                return .failure(RuleError("'\(pattern)' is not a dotted name whose numbered parts are written '{s}'"))
            } else {
                segments.append(.literal(part))
            }
        }
        var pieces: [Rule.Piece] = [], rest = Substring(replacement)
        while let open = rest.firstIndex(of: "{") {
            if open > rest.startIndex { pieces.append(.text(String(rest[..<open]))) }
            guard let close = rest[open...].firstIndex(of: "}") else {
                return .failure(RuleError("'\(replacement)' opens '{' without closing it"))
            }
            let inside = rest[rest.index(after: open)..<close].filter { $0 != " " }
            let sign = inside.firstIndex { $0 == "+" || $0 == "-" }
            let variable = String(sign.map { inside[..<$0] } ?? inside[...])
            // At most six digits: names count layers, and a larger offset could overflow the sum.
            var offset: Int? = 0
            if let sign {
                let digits = inside[inside.index(after: sign)...]
                offset = digits.count <= 6 && !digits.isEmpty && digits.allSatisfy(\.isASCII) && digits.allSatisfy(\.isNumber)
                    ? Int(digits).map { inside[sign] == "-" ? -$0 : $0 } : nil
            }
            guard variables.contains(variable), let offset else {
                return .failure(RuleError("'{\(inside)}' in '\(replacement)' is not a variable of '\(pattern)' (plus or minus a number)"))
            }
            pieces.append(.number(variable, offset: offset))
            rest = rest[rest.index(after: close)...]
        }
        if !rest.isEmpty { pieces.append(.text(String(rest))) }
        if case .number = segments.first {
            return .failure(RuleError("'\(pattern)' starts with a number, which no netc name does: start it with stem, stages, head or layers"))
        }
        if pieces.isEmpty || pieces.contains(where: { if case .text(let t) = $0 { t.contains("}") } else { false } }) {
            return .failure(RuleError("'\(replacement)' is not a PyTorch name whose numbered parts are written '{s}' or '{s+1}'"))
        }
        return .success(Rule(pattern: segments, replacement: pieces, location: location))
    }

    struct RuleError: Error { let message: String; init(_ m: String) { message = m } }
}
