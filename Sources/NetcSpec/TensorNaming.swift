import NetcIR

/// How a spec's tensors are named in PyTorch (`pytorch_names:`), as data: rules from a prefix of
/// netc's names to PyTorch's, the most specific matching rule winning, and the names block
/// templates give their layers (`pytorch: downsample.0`). A pattern's segment `{s}` matches a
/// number and binds it; the replacement writes it back as `{s}`, `{s+1}` or `{s-1}`, and `{n}` is
/// a block's number counted across all stages. With the bundled `bottleneck`'s names for its
/// shortcut, torchvision's ResNets are four rules:
///
///     pytorch_names:
///       stem.conv1: conv1
///       stem.bn1: bn1
///       stages.{s}.{b}: layer{s+1}.{b}
///       head.fc1: fc
///
/// A rule rewrites the part of a name it matches; the template's names rewrite the parts after it
/// (`stages.2.0.conv4` -> `layer3.0` + `downsample.0`). So a rule that reaches a layer itself
/// (`stages.{s}.{b}.conv4: ...`) wins over its template's name, and a part that neither renames
/// keeps netc's name.
public struct TensorNaming: Sendable {
    public struct Rule: Sendable {
        enum Segment: Equatable, Sendable { case literal(String), number(String) }
        enum Piece: Equatable, Sendable { case text(String), number(String, offset: Int) }
        var pattern: [Segment]
        var replacement: [Piece]
        /// For a rule whose replacement writes `{n}`: the variables of its `stages.{s}.{b}`.
        var stageAndBlock: (stage: String, block: String)?
        public var location: SourceLocation
    }

    public var rules: [Rule]
    /// How many blocks come before each stage: `{n}` of block `b` of stage `s` is `b` plus this.
    var blocksBefore: [Int]
    /// The names templates give their layers, by the netc name of the layer
    /// (`stages.2.0.conv4` -> `downsample.0`); each replaces the last part of that name.
    var templateNames: [String: String]

    /// The variable a replacement may use for a block's number across stages.
    static let blockNumber = "n"

    /// No rules: every tensor keeps netc's name.
    public static let identity = TensorNaming(rules: [])

    /// `rules` for a network whose stages hold `stageDepths` blocks, whose templates name their
    /// layers `templateNames` (by netc's name of each layer).
    public init(rules: [Rule], stageDepths: [Int] = [], templateNames: [String: String] = [:]) {
        self.rules = rules
        self.templateNames = templateNames
        var before = 0   // depths are at most Compiler.maxValue each: no overflow
        blocksBefore = stageDepths.map { depth in
            defer { before += depth }
            return before
        }
    }

    /// PyTorch's name for one of netc's (`stages.1.0.conv3.weight` -> `layer2.0.downsample.0.weight`).
    public func foreign(_ name: String) -> String {
        let parts = name.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        let ruled = bestRule(parts)
        var out = ruled.map { [$0.head] } ?? []
        var path = parts.prefix(ruled?.length ?? 0).joined(separator: ".")
        for part in parts.dropFirst(ruled?.length ?? 0) {
            path = path.isEmpty ? part : path + "." + part
            out.append(templateNames[path] ?? part)
        }
        return out.joined(separator: ".")
    }

    /// The replacement of the most specific rule that matches a prefix of `parts`, and how many
    /// parts it matched.
    private func bestRule(_ parts: [String]) -> (length: Int, head: String)? {
        var best: (length: Int, head: String)?
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
            if let (stage, block) = rule.stageAndBlock {
                guard let s = bound[stage], s < blocksBefore.count else { continue }
                bound[Self.blockNumber] = blocksBefore[s] + bound[block]!   // block numbers are small: no overflow
            }
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
            best = (rule.pattern.count, pieces.joined())
        }
        return best
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

    /// Why `name` cannot be a template's name for a layer in PyTorch (`pytorch:`), or nil: it is a
    /// path in a PyTorch module, attribute names and indices joined by dots, of letters, digits, `_`
    /// and `-` (torchvision's RegNet names a block `block1-0`).
    static func problem(withLayerName name: String) -> String? {
        if name.isEmpty { return "which is empty" }
        if name.split(separator: ".", omittingEmptySubsequences: false).contains(where: \.isEmpty) {
            return "which has an empty part between its dots"
        }
        if let c = name.first(where: { !($0.isASCII && ($0.isLetter || $0.isNumber || "_-.".contains($0))) }) {
            return "whose '\(c)' is not in a PyTorch name: letters, digits, '_' and '-', in parts joined by dots"
        }
        return nil
    }

    /// A rule from its two sides as written; nil with the reason when either is malformed.
    static func rule(pattern: String, replacement: String, at location: SourceLocation) -> Result<Rule, RuleError> {
        var segments: [Rule.Segment] = [], variables: Set<String> = []
        for part in pattern.split(separator: ".", omittingEmptySubsequences: false).map(String.init) {
            if part.hasPrefix("{") && part.hasSuffix("}") && part.count > 2 {
                let v = String(part.dropFirst().dropLast())
                if v == blockNumber {
                    return .failure(RuleError("'{\(v)}' in '\(pattern)' is a block's number across all stages, which a pattern does not bind",
                                              help: "name the stage and block '{s}' and '{b}', and write '{\(v)}' in the PyTorch name: 'stages.{s}.{b}: features.{\(v)+1}'"))
                }
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
        // `{n}` needs the stage and block numbers it counts from.
        var stageAndBlock: (stage: String, block: String)?
        if segments.count >= 3, segments[0] == .literal("stages"), case .number(let s) = segments[1], case .number(let b) = segments[2] {
            stageAndBlock = (s, b)
        }
        var pieces: [Rule.Piece] = [], rest = Substring(replacement), numbersBlocks = false
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
            if variable == blockNumber, offset != nil, stageAndBlock == nil {
                return .failure(RuleError("'{\(inside)}' in '\(replacement)' numbers blocks across stages, but '\(pattern)' does not name a block",
                                          help: "write '{\(blockNumber)}' in the PyTorch name of a pattern that starts 'stages.{s}.{b}'"))
            }
            guard variables.contains(variable) || (variable == blockNumber && stageAndBlock != nil), let offset else {
                return .failure(RuleError("'{\(inside)}' in '\(replacement)' is not a variable of '\(pattern)' (plus or minus a number)"))
            }
            numbersBlocks = numbersBlocks || variable == blockNumber
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
        return .success(Rule(pattern: segments, replacement: pieces, stageAndBlock: numbersBlocks ? stageAndBlock : nil, location: location))
    }

    struct RuleError: Error {
        let message: String
        /// Advice for this mistake; nil for the general example of a rule.
        let help: String?
        init(_ message: String, help: String? = nil) { (self.message, self.help) = (message, help) }
    }
}
