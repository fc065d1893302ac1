import Testing
import NetcIR
@testable import NetcSpec

private func compose(_ text: String, file: String = "spec.yaml",
                     limits: YAMLLimits = .default) -> (root: YAMLNode?, diagnostics: [Diagnostic]) {
    composeYAML(text, file: file, limits: limits)
}

/// The (line, column, length) of a location, for compact assertions.
private func lcl(_ node: YAMLNode?) -> [Int] {
    guard let l = node?.location else { return [] }
    return [l.line, l.column, l.length]
}

private func lcl(_ l: NetcIR.SourceLocation?) -> [Int] {
    guard let l else { return [] }
    return [l.line, l.column, l.length]
}

private func render(_ text: String, _ diagnostics: [Diagnostic], file: String = "spec.yaml") -> String {
    DiagnosticRenderer(sources: [file: text]).render(diagnostics)
}

// MARK: Locations

@Test func blockAndFlowLocations() throws {
    let text = """
    name: resnet
    stages:
      - {block: residual, depth: 2, channels: 64}
      - block: "bottleneck"
        depth: 3
    """
    let (root, diagnostics) = compose(text)
    #expect(diagnostics.isEmpty)
    let r = try #require(root)
    #expect(lcl(r) == [1, 1, 1])
    let name = try #require(r.entry("name"))
    #expect(lcl(name.key) == [1, 1, 4])
    #expect(lcl(name.value) == [1, 7, 6])
    #expect(name.value.location.file == "spec.yaml")

    let stages = try #require(r["stages"]?.sequence)
    #expect(lcl(r["stages"]) == [3, 3, 1])            // the '-' of the block list
    #expect(stages.count == 2)
    #expect(lcl(stages[0]) == [3, 5, 1])              // the '{'
    #expect(lcl(stages[0].entry("block")?.key) == [3, 6, 5])
    #expect(lcl(stages[0]["block"]) == [3, 13, 8])
    #expect(lcl(stages[0].entry("depth")?.key) == [3, 23, 5])
    #expect(lcl(stages[0]["depth"]) == [3, 30, 1])
    #expect(lcl(stages[0]["channels"]) == [3, 43, 2])
    #expect(stages[0]["channels"]?.int == 64)

    #expect(lcl(stages[1]) == [4, 5, 1])              // first key of the block mapping
    #expect(lcl(stages[1]["block"]) == [4, 12, 12])   // quotes included
    #expect(stages[1]["block"]?.scalar == YAMLScalar("bottleneck", style: .doubleQuoted))
    #expect(lcl(stages[1].entry("depth")?.key) == [5, 5, 5])
    #expect(lcl(stages[1]["depth"]) == [5, 12, 1])
    #expect(r.keys == ["name", "stages"])
    #expect(r.description == "{name: resnet, stages: [{block: residual, depth: 2, channels: 64}, {block: \"bottleneck\", depth: 3}]}")
}

@Test func scalarStylesAndTokenWidths() throws {
    let text = """
    a: 'it''s'
    b: "x\\ty"
    c: |
      line one
      line two
    d: >-
      folded
      text
    e: &anchor 64
    f: !!str 5
    g:
    h: [
      1,
      2 ]
    """
    let (root, diagnostics) = compose(text)
    #expect(diagnostics.isEmpty)
    let r = try #require(root)
    #expect(r["a"]?.scalar == YAMLScalar("it's", style: .singleQuoted))
    #expect(lcl(r["a"]) == [1, 4, 7])
    #expect(r["b"]?.scalar == YAMLScalar("x\ty", style: .doubleQuoted))
    #expect(lcl(r["b"]) == [2, 4, 6])
    #expect(r["c"]?.scalar == YAMLScalar("line one\nline two\n", style: .literal))
    #expect(lcl(r["c"]) == [3, 4, 1])                  // the '|'
    #expect(r["d"]?.scalar == YAMLScalar("folded text", style: .folded))
    #expect(lcl(r["d"]) == [6, 4, 2])                  // '>-'
    #expect(r["e"]?.anchor == "anchor")
    #expect(lcl(r["e"]) == [9, 12, 2])                 // the token after the anchor
    #expect(r["f"]?.tag == "tag:yaml.org,2002:str")
    #expect(r["f"]?.int == nil)                        // tagged: a string
    #expect(r["f"]?.string == "5")
    #expect(lcl(r["f"]) == [10, 10, 1])
    #expect(r["g"]?.isNull == true)
    #expect(lcl(r["g"]) == [11, 3, 1])                 // just after the colon
    #expect(lcl(r["h"]) == [12, 4, 1])
    #expect(r["h"]?.sequence?.map { lcl($0) } == [[13, 3, 1], [14, 3, 1]])
}

@Test func utf8Columns() throws {
    let text = "é: ünïcödé\nk: [é, x]\nt: [e\u{301}x, y]\n"
    let (root, diagnostics) = compose(text)
    #expect(diagnostics.isEmpty)
    let r = try #require(root)
    #expect(lcl(r.entry("é")?.key) == [1, 1, 1])
    #expect(lcl(r["é"]) == [1, 4, 7])
    #expect(lcl(r["k"]?.sequence?[1]) == [2, 8, 1])
    #expect(lcl(r["t"]?.sequence?[0]) == [3, 5, 2])    // "e + combining acute" is one character
    #expect(lcl(r["t"]?.sequence?[1]) == [3, 9, 1])
}

@Test func crlfAndByteOrderMark() throws {
    let (root, diagnostics) = compose("\u{FEFF}a: 1\r\nb: xy\r\n")
    #expect(diagnostics.isEmpty)
    let r = try #require(root)
    #expect(lcl(r.entry("a")?.key) == [1, 1, 1])
    #expect(lcl(r.entry("b")?.key) == [2, 1, 1])
    #expect(lcl(r["b"]) == [2, 4, 2])
}

// MARK: Typed scalars

@Test func yaml11ValuesStayStrings() throws {
    let text = """
    a: no
    b: on
    c: 1e3
    d: 0x10
    e: 012
    f: ~
    g: yes
    h: "true"
    i: 2.5
    j: .5
    k: 1e-5
    l: -7
    m: true
    n:
    o: null
    p: 'null'
    q: +3
    r: 1_000
    s: .inf
    t: '64'
    u: False
    """
    let (root, diagnostics) = compose(text)
    #expect(diagnostics.isEmpty)
    let r = try #require(root)
    for key in ["a", "b", "g"] {
        #expect(r[key]?.bool == nil, "\(key)")
        #expect(r[key]?.isNull == false)
    }
    #expect(r["a"]?.string == "no")
    #expect(r["b"]?.string == "on")
    #expect(r["c"]?.string == "1e3")
    #expect(r["c"]?.int == nil)
    #expect(r["c"]?.double == 1000)
    #expect(r["d"]?.int == nil)
    #expect(r["d"]?.double == nil)
    #expect(r["e"]?.int == 12)                         // YAML 1.2: decimal, not octal
    #expect(r["f"]?.isNull == true)
    #expect(r["f"]?.string == "~")
    #expect(r["h"]?.bool == nil)
    #expect(r["i"]?.int == nil)
    #expect(r["i"]?.double == 2.5)
    #expect(r["j"]?.double == 0.5)
    #expect(r["k"]?.double == 1e-5)
    #expect(r["l"]?.int == -7)
    #expect(r["l"]?.double == -7)
    #expect(r["m"]?.bool == true)
    #expect(r["n"]?.isNull == true)
    #expect(r["o"]?.isNull == true)
    #expect(r["p"]?.isNull == false)
    #expect(r["q"]?.int == 3)
    #expect(r["r"]?.int == nil)
    #expect(r["s"]?.double == nil)
    #expect(r["t"]?.int == nil)
    #expect(r["u"]?.bool == nil)

    #expect(YAMLScalar("99999999999999999999").int == nil)   // overflow
    #expect(YAMLScalar("1e999").double == nil)
    #expect(YAMLScalar("5.").double == 5)
    #expect(YAMLScalar("-").int == nil)
    #expect(YAMLScalar("e5").double == nil)
    #expect(YAMLScalar("1e").double == nil)
    #expect(YAMLScalar("").isNull)
    #expect(!YAMLScalar("", style: .doubleQuoted).isNull)
}

@Test func kindDescriptions() throws {
    let (root, _) = compose("""
    a: sixty-four
    b: 2.5
    c: {x: 1}
    d: [1]
    e: true
    f: null
    g:
    h: "64"
    i: "\(String(repeating: "z", count: 50))"
    """)
    let r = try #require(root)
    #expect(r["a"]?.kindDescription == "the string 'sixty-four'")
    #expect(r["b"]?.kindDescription == "the number 2.5")
    #expect(r["c"]?.kindDescription == "a mapping")
    #expect(r["d"]?.kindDescription == "a list")
    #expect(r["e"]?.kindDescription == "the boolean true")
    #expect(r["f"]?.kindDescription == "null")
    #expect(r["g"]?.kindDescription == "an empty value")
    #expect(r["h"]?.kindDescription == "the string '64'")
    #expect(r["i"]?.kindDescription == "the string '\(String(repeating: "z", count: 40))…'")
}

// MARK: Anchors, aliases, merge keys

@Test func anchorsAliasesAndMergeKeys() throws {
    let text = """
    defaults: &blk
      kernel: 3
      stride: 1
    a: *blk
    b:
      <<: *blk
      stride: 2
    c: {<<: [*blk, {pad: 1}], kernel: 5}
    w: &width 64
    v: *width
    """
    let (root, diagnostics) = compose(text)
    #expect(diagnostics.isEmpty)
    let r = try #require(root)
    let a = try #require(r["a"])
    #expect(a.description == "{kernel: 3, stride: 1}")
    #expect(lcl(a) == [1, 11, 4])                       // the anchor definition '&blk'
    #expect(lcl(a.aliasLocation) == [4, 4, 4])          // where '*blk' is used
    #expect(lcl(a["kernel"]) == [2, 11, 1])

    let b = try #require(r["b"])
    #expect(b.description == "{kernel: 3, stride: 2}")  // explicit keys win
    #expect(lcl(b["kernel"]) == [2, 11, 1])             // defined in the base
    #expect(lcl(b["kernel"]?.aliasLocation) == [6, 7, 4])
    #expect(lcl(b["stride"]) == [7, 11, 1])
    #expect(b["stride"]?.aliasLocation == nil)

    let c = try #require(r["c"])
    #expect(c.description == "{stride: 1, pad: 1, kernel: 5}")
    #expect(c["kernel"]?.int == 5)

    #expect(r["v"]?.int == 64)
    #expect(lcl(r["v"]) == [9, 11, 2])
    #expect(lcl(r["v"]?.aliasLocation) == [10, 4, 6])
}

@Test func undefinedAndRecursiveAliases() throws {
    let (root, diagnostics) = compose("a: *nope\n")
    #expect(root == nil)
    #expect(diagnostics.count == 1)
    #expect(diagnostics.first?.message == "alias '*nope' refers to an anchor that is not defined")
    #expect(lcl(diagnostics.first?.location) == [1, 4, 5])

    let (root2, d2) = compose("a: &x [1, *x]\n")
    #expect(root2 == nil)
    #expect(d2.first?.message == "alias '*x' refers to a node that contains it")
    #expect(lcl(d2.first?.location) == [1, 11, 2])

    let (root3, d3) = compose("base: 5\nb: {<<: 5}\n")
    #expect(root3 == nil)
    #expect(d3.first?.message == "merge key '<<' needs a mapping or a list of mappings, got the number 5")
    #expect(lcl(d3.first?.location) == [2, 9, 1])
}

// MARK: Diagnostics

@Test func duplicateKeyRendered() throws {
    let text = """
    net:
      channels: 64
      channels: 128
    """
    let (root, diagnostics) = compose(text)
    #expect(render(text, diagnostics) == """
    spec.yaml:3:3: error: duplicate key 'channels' in mapping
      3 |   channels: 128
        |   ^~~~~~~~
    spec.yaml:2:3: note: 'channels' was first defined here
      2 |   channels: 64
        |   ^~~~~~~~
    help: remove one of them; YAML keys must be unique within a mapping

    """)
    // The tree survives with the first occurrence, so later stages can report more.
    #expect(root?["net"]?["channels"]?.int == 64)
    #expect(diagnostics.hasErrors)
}

@Test func nonScalarKey() {
    let (root, diagnostics) = compose("? [a]\n: 1\n")
    #expect(root == nil)
    #expect(diagnostics.first?.message == "mapping key must be a name, not a list")
    #expect(lcl(diagnostics.first?.location) == [1, 3, 1])
}

@Test func syntaxErrorUnclosedFlowList() throws {
    let text = "a:\n  b: [1, 2\n"
    let (root, diagnostics) = compose(text)
    #expect(root == nil)
    let d = try #require(diagnostics.first)
    #expect(diagnostics.count == 1)
    #expect(d.message == "did not find expected ',' or ']' while parsing a flow sequence")
    #expect(lcl(d.location) == [2, 11, 1])           // just past the last thing written
    #expect(d.notes.map(\.message) == ["the flow sequence starts here"])
    #expect(lcl(d.notes.first?.location) == [2, 6, 1])
    #expect(d.help == "close the list with ']' and separate its items with ',' (the '[' is at line 2, column 6)")
}

@Test func syntaxErrorTabIndentation() throws {
    let text = "a:\n\tb: 1\n"
    let (root, diagnostics) = compose(text)
    #expect(root == nil)
    let d = try #require(diagnostics.first)
    #expect(d.message == "found character that cannot start any token while scanning for the next token")
    #expect(lcl(d.location) == [2, 1, 1])
    #expect(d.help == "YAML does not allow tabs for indentation; indent with spaces")
    #expect(render(text, diagnostics) == """
    spec.yaml:2:1: error: found character that cannot start any token while scanning for the next token
      2 | \tb: 1
        | ^
    help: YAML does not allow tabs for indentation; indent with spaces

    """)
}

@Test func syntaxErrorUnclosedQuoteAndBadValue() throws {
    let (_, d1) = compose("name: resnet\nlabel: \"abc\n")
    let q = try #require(d1.first)
    #expect(q.message == "found unexpected end of stream while scanning a quoted scalar")
    #expect(lcl(q.location) == [2, 12, 1])
    #expect(lcl(q.notes.first?.location) == [2, 8, 1])
    #expect(q.help == "close the quoted string that opens at line 2")

    let (_, d2) = compose("a: b: c\n")
    #expect(lcl(d2.first?.location) == [1, 5, 1])
    #expect(d2.first?.help == "a value containing ': ' must be quoted; otherwise check this line's indentation")

    let (_, d3) = compose("a: \u{1}\n")
    #expect(d3.first?.message == "invalid text: control characters are not allowed (U+0001)")
    #expect(lcl(d3.first?.location) == [1, 4, 1])
}

// MARK: Hostile input

@Test func sizeLimit() {
    let big = String(repeating: "#", count: 1 << 20) + "\n"
    let (root, diagnostics) = compose(big)
    #expect(root == nil)
    #expect(diagnostics.map(\.message) == ["file is too large: 1048577 bytes (the limit is 1048576 bytes)"])
    let (_, small) = composeYAML(bytes: Array("a: 1\n".utf8), file: "x.yaml", limits: YAMLLimits(maxBytes: 4))
    #expect(small.first?.message == "file is too large: 5 bytes (the limit is 4 bytes)")
}

@Test func binaryInput() throws {
    let (root, diagnostics) = composeYAML(bytes: Array("a: 1\nbé: \u{0}x\n".utf8), file: "spec.yaml")
    #expect(root == nil)
    let d = try #require(diagnostics.first)
    #expect(d.message == "file contains a NUL byte (at byte offset 10); this looks like a binary file, not YAML text")
    #expect(lcl(d.location) == [2, 5, 1])

    var bytes = Array("é: x\nkey: caf".utf8)
    bytes += [0xC3, 0x28, 0x0A]
    let (_, d2) = composeYAML(bytes: bytes, file: "spec.yaml")
    #expect(d2.first?.message == "file is not valid UTF-8: unexpected byte 0xC3 at byte offset 14")
    #expect(lcl(d2.first?.location) == [2, 9, 1])

    let (_, d3) = composeYAML(bytes: [0xFF, 0xFE, 0x61, 0x00], file: "spec.yaml")  // UTF-16
    #expect(d3.first?.message == "file is not valid UTF-8: unexpected byte 0xFF at byte offset 0")
    #expect(lcl(d3.first?.location) == [1, 1, 1])

    // NUL through the String entry point too.
    #expect(compose("a: \u{0}\n").diagnostics.first?.message.hasPrefix("file contains a NUL byte") == true)

    // Surrogates and overlong encodings are not UTF-8 either.
    #expect(YAMLBinaryCheck.firstProblem(in: [0x61, 0xED, 0xA0, 0x80]) != nil)
    #expect(YAMLBinaryCheck.firstProblem(in: [0xC0, 0xAF]) != nil)
    #expect(YAMLBinaryCheck.firstProblem(in: Array("ok é 𝄞".utf8)) == nil)
}

@Test func depthBomb() throws {
    let clock = ContinuousClock()
    var result: (root: YAMLNode?, diagnostics: [Diagnostic])?
    let elapsed = clock.measure { result = compose(String(repeating: "[", count: 10_000)) }
    #expect(elapsed < .seconds(2))
    let d = try #require(result?.diagnostics.first)
    #expect(result?.root == nil)
    #expect(result?.diagnostics.count == 1)
    #expect(d.message == "list is nested too deeply (more than 64 levels)")
    #expect(lcl(d.location) == [1, 65, 1])

    // 64 levels are fine.
    let ok = compose(String(repeating: "[", count: 64) + String(repeating: "]", count: 64))
    #expect(ok.diagnostics.isEmpty)
    #expect(ok.root != nil)

    // Block nesting too.
    let block = (0..<100).map { String(repeating: " ", count: $0) + "k\($0):" }.joined(separator: "\n")
    #expect(compose(block).diagnostics.first?.message == "mapping is nested too deeply (more than 64 levels)")
}

@Test func depthThroughAliases() {
    let deep = "a: &deep " + String(repeating: "[", count: 40) + String(repeating: "]", count: 40) + "\n"
        + "b: " + String(repeating: "[", count: 30) + "*deep" + String(repeating: "]", count: 30) + "\n"
    let (root, diagnostics) = compose(deep)
    #expect(root == nil)
    #expect(diagnostics.first?.message == "alias '*deep' nests the document too deeply (more than 64 levels)")
}

@Test func billionLaughs() throws {
    var lines = ["a: &a [" + Array(repeating: "\"lol\"", count: 10).joined(separator: ", ") + "]"]
    let names = "abcdefghij".map(String.init)
    for level in 1...9 {
        let aliases = Array(repeating: "*\(names[level - 1])", count: 10).joined(separator: ", ")
        lines.append("\(names[level]): &\(names[level]) [\(aliases)]")
    }
    let text = lines.joined(separator: "\n") + "\n"
    let clock = ContinuousClock()
    var result: (root: YAMLNode?, diagnostics: [Diagnostic])?
    let elapsed = clock.measure { result = compose(text) }
    #expect(elapsed < .seconds(2))
    #expect(result?.root == nil)
    let d = try #require(result?.diagnostics.first)
    #expect(d.message == "expanding alias '*d' would make the document more than 100000 nodes")
    #expect(d.location?.line == 5)
    #expect(lcl(d.notes.first?.location) == [4, 4, 2])
}

@Test func nodeLimitWithoutAliases() {
    let list = "[" + (1...20).map(String.init).joined(separator: ", ") + "]"
    let (root, diagnostics) = compose(list, limits: YAMLLimits(maxNodes: 10))
    #expect(root == nil)
    #expect(diagnostics.first?.message == "document has more than 10 nodes")
}

@Test func emptyFiles() {
    for text in ["", "# only a comment\n\n", "   \n", "---\n", "--- # nothing\n...\n"] {
        let (root, diagnostics) = compose(text)
        #expect(root == nil)
        #expect(diagnostics.map(\.message) == ["file is empty: it holds no YAML content"], "\(text.debugDescription)")
    }
    // An explicit null is content, not an empty file.
    #expect(compose("null\n").root?.isNull == true)
}

@Test func multipleDocuments() throws {
    let text = "a: 1\n---\nb: 2\n"
    let (root, diagnostics) = compose(text)
    #expect(root == nil)
    let d = try #require(diagnostics.first)
    #expect(diagnostics.count == 1)
    #expect(d.message == "a second YAML document starts here; netc reads one spec per file")
    #expect(lcl(d.location) == [2, 1, 3])
    // One explicit document is fine.
    #expect(compose("---\na: 1\n...\n").root?["a"]?.int == 1)
}

@Test func longLinesStayLinear() throws {
    // 40,000 anchored non-ASCII scalars on one 400 kB line: location conversion must not
    // rewalk the line for every node (this took minutes before the fix).
    let text = "[" + (0..<40_000).map { "&a\($0) é" }.joined(separator: ", ") + ", x]"
    let clock = ContinuousClock()
    var result: (root: YAMLNode?, diagnostics: [Diagnostic])?
    let elapsed = clock.measure { result = compose(text) }
    #expect(elapsed < .seconds(5))
    let items = try #require(result?.root?.sequence)
    #expect(items.count == 40_001)
    #expect(lcl(items[1]) == [1, 13, 1])               // "[&a0 é, &a1 é" -> the second "é"
    let last = text.count
    #expect(lcl(items.last) == [1, last - 1, 1])
}
