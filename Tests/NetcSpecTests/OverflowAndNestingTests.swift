import NetcIR
import Testing
@testable import NetcSpec

/// Inputs that used to trap (SIGILL, SIGSEGV) or silently give a wrong number: huge literals,
/// integer overflow, deep nesting. Each must end in a located error, rendered in full here.
struct OverflowAndNestingTests {
    /// A spec whose head's linear layer has `out: "<expression>"`.
    func head(_ expression: String) -> String {
        """
        netc: 1
        name: t
        input: {channels: 1, size: 32}
        classes: 10
        stages:
          - {block: residual, depth: 1, channels: 8}
        head: [global_avgpool, flatten, {linear: {out: "\(expression)"}}]

        """
    }

    /// `//` and `%` follow Python exactly, past 2^53 too (they used to go through Double).
    @Test(arguments: [
        ("-7 // 2", -4), ("-7 % 3", 2), ("7 % -3", -2), ("$big % -1", 0), ("$big // 1 - 9007199254740985", 8),
        ("(9007199254740993 // $one - 9007199254740985) * 2", 16), ("-9223372036854775807 - $one", Int.min),
    ])
    func integerArithmeticIsExact(_ text: String, _ expected: Int) throws {
        let e = try Expression.parse(text).get()
        let values: [String: Value] = ["big": .int(9_007_199_254_740_993), "one": .int(1)]
        #expect(e.evaluate { values[$0] } == .success(.int(expected)))
    }

    @Test func overflowIsAFailureAtTheOperator() throws {
        let e = try Expression.parse("$c * 1152921504606846977").get()
        #expect(e.evaluate { _ in .int(16) } == .failure(.init(
            message: "16 * 1152921504606846977 overflows a 64-bit integer", offset: 3,
            help: "netc's sizes and counts go up to 1048576; check the values this combines")))
    }

    /// Literals past 2^63 used to trap while building the help text (`Int(1e19)`).
    @Test func integersBeyondInt64() {
        let r = rendered(#"""
netc: 1
name: t
input: {channels: 1, size: 1e19}
classes: 99999999999999999999
stages:
  - {block: residual, depth: 1, channels: 1e19}
  - {block: residual, depth: 1e308, channels: 8}
head: [global_avgpool, flatten, {linear: {out: $classes}}]
train: {seed: 1e19, epochs: -99999999999999999999}
"""#)
        #expect(r.succeeded == false)
        #expect(r.text == #"""
spec.yaml:3:28: error: 'size' must be an integer, got the number 1e19
  3 | input: {channels: 1, size: 1e19}
    |                            ^~~~
help: use a whole number; sizes and counts go up to 1048576
spec.yaml:4:10: error: 'classes' is 99999999999999999999; netc takes values up to 1048576
  4 | classes: 99999999999999999999
    |          ^~~~~~~~~~~~~~~~~~~~
spec.yaml:9:15: error: 'seed' must be an integer, got the number 1e19
  9 | train: {seed: 1e19, epochs: -99999999999999999999}
    |               ^~~~
help: use a whole number; sizes and counts go up to 1048576
spec.yaml:9:29: error: 'epochs' is -99999999999999999999, beyond the 64-bit integers netc reads
  9 | train: {seed: 1e19, epochs: -99999999999999999999}
    |                             ^~~~~~~~~~~~~~~~~~~~~

"""#)
    }

    /// The same in a stage, where lowering builds the help text.
    @Test func hugeStageValues() {
        let r = rendered(#"""
netc: 1
name: t
input: {channels: 1, size: 32}
classes: 10
stages:
  - {block: residual, depth: 1, channels: 1e19}
  - {block: residual, depth: 1e308, channels: 99999999999999999999}
head: [global_avgpool, flatten, {linear: {out: $classes}}]
"""#)
        #expect(r.succeeded == false)
        #expect(r.text == #"""
spec.yaml:6:43: error: 'channels' must be an integer, got the number 1e+19
  6 |   - {block: residual, depth: 1, channels: 1e19}
    |                                           ^~~~
help: 'channels' counts whole channels: use an integer from 1 to 1048576
spec.yaml:7:30: error: 'depth' must be an integer, got the number 1e+308
  7 |   - {block: residual, depth: 1e308, channels: 99999999999999999999}
    |                              ^~~~~
help: 'depth' counts whole blocks: use an integer from 1 to 1048576
spec.yaml:7:47: error: 'channels' must be an integer, got the number 1e+20
  7 |   - {block: residual, depth: 1e308, channels: 99999999999999999999}
    |                                               ^~~~~~~~~~~~~~~~~~~~
help: 'channels' counts whole channels: use an integer from 1 to 1048576

"""#)
    }

    /// `$channels * 1152921504606846977` used to wrap around to 16; `// -1` used to trap.
    @Test func integerOverflow() {
        let r = rendered(#"""
netc: 1
name: t
input: {channels: 1, size: 32}
classes: 10
blocks:
  times:
    let: {inner: "$channels * 1152921504606846977"}
    body: [{conv: {out: $inner, kernel: 3, pad: 1}}]
  floordiv:
    let: {inner: ($stride - 9223372036854775807 - 17) // -1}
    body: [{conv: {out: $inner, kernel: 3, pad: 1}}]
  negate:
    let: {inner: -(-9223372036854775807 - $stride)}
    body: [{conv: {out: $inner, kernel: 3, pad: 1}}]
  quotient:
    let: {inner: (-9223372036854775807 - $stride) // -1}
    body: [{conv: {out: $inner, kernel: 3, pad: 1}}]
stages:
  - {block: times, depth: 1, channels: 8}
  - {block: floordiv, depth: 1, channels: 8}
  - {block: negate, depth: 1, channels: 8}
  - {block: quotient, depth: 1, channels: 8}
head: [global_avgpool, flatten, {linear: {out: $classes}}]
"""#)
        #expect(r.succeeded == false)
        #expect(r.text == #"""
spec.yaml:7:29: error: in '$channels * 1152921504606846977': 8 * 1152921504606846977 overflows a 64-bit integer
  7 |     let: {inner: "$channels * 1152921504606846977"}
    |                             ^~~~~~~~~~~~~~~~~~~~~
help: netc's sizes and counts go up to 1048576; check the values this combines
spec.yaml:10:49: error: in '($stride - 9223372036854775807 - 17) // -1': -9223372036854775806 - 17 overflows a 64-bit integer
  10 |     let: {inner: ($stride - 9223372036854775807 - 17) // -1}
     |                                                 ^~~~~~~~~~~
help: netc's sizes and counts go up to 1048576; check the values this combines
spec.yaml:13:18: error: in '-(-9223372036854775807 - $stride)': -(-9223372036854775808) overflows a 64-bit integer
  13 |     let: {inner: -(-9223372036854775807 - $stride)}
     |                  ^~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~
help: netc's sizes and counts go up to 1048576; check the values this combines
spec.yaml:16:51: error: in '(-9223372036854775807 - $stride) // -1': -9223372036854775808 // -1 overflows a 64-bit integer
  16 |     let: {inner: (-9223372036854775807 - $stride) // -1}
     |                                                   ^~~~~
help: netc's sizes and counts go up to 1048576; check the values this combines

"""#)
    }

    /// A conv with 2^80 parameters used to trap while printing its count (`Int(1.2e24)`).
    @Test func layerBeyondInt64Parameters() {
        let r = rendered(#"""
netc: 1
name: t
input: {channels: 1048576, size: 1048576}
stem:
  - conv: {out: 1048576, kernel: 1048576}
stages:
  - {block: residual, depth: 1, channels: 8}
"""#)
        #expect(r.succeeded == false)
        #expect(r.text == #"""
spec.yaml:5:5: error: the layer is too large: 1048576x1x1 outputs, 1.21e+24 parameters, 1.21e+24 multiply-adds per sample (at stem.conv1, whose input is 1048576x1048576x1048576 for a 1048576x1048576x1048576 network input)
  5 |   - conv: {out: 1048576, kernel: 1048576}
    |     ^~~~
help: netc takes layers of up to 10^12 of each; check the channel counts and the input size
spec.yaml:7:13: error: the layer is too large: 8x1048576x1048576 outputs, 75497480 parameters, 8.3e+19 multiply-adds per sample (at stages.0.0.conv1, whose input is 1048576x1048576x1048576 for a 1048576x1048576x1048576 network input)
  7 |   - {block: residual, depth: 1, channels: 8}
    |             ^~~~~~~~
<prelude>:16:9: note: in block 'residual', from its definition
  16 |       - conv: {out: $channels, kernel: 3, stride: $stride, pad: 1}
     |         ^~~~
help: netc takes layers of up to 10^12 of each; check the channel counts and the input size

"""#)
    }

    /// Thousands of parentheses used to overflow the parser's stack.
    @Test func nestedParentheses() {
        let r = rendered(head(String(repeating: "(", count: 5000) + "$classes" + String(repeating: ")", count: 5000)))
        #expect(r.succeeded == false)
        #expect(r.text == #"""
spec.yaml:7:113: error: in expression '((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((…': more than 64 operators, calls and parentheses
  7 | …((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((…
    |                                          ^
help: split the computation into several 'let:' values of the block

"""#)
    }

    /// Hundreds of thousands of unary minus signs.
    @Test func unaryMinusChain() {
        let r = rendered(head(String(repeating: "-", count: 300_000) + "$classes"))
        #expect(r.succeeded == false)
        #expect(r.text == #"""
spec.yaml:7:113: error: in expression '------------------------------------------------------------…': more than 64 operators, calls and parentheses
  7 | …------------------------------------------------------------------------------------------------------------------------…
    |                                          ^
help: split the computation into several 'let:' values of the block

"""#)
    }

    /// Hundreds of thousands of `not`.
    @Test func notChain() {
        let r = rendered(head(String(repeating: "not ", count: 200_000) + "$classes"))
        #expect(r.succeeded == false)
        #expect(r.text == #"""
spec.yaml:7:305: error: in expression 'not not not not not not not not not not not not not not not …': more than 64 operators, calls and parentheses
  7 | …not not not not not not not not not not not not not not not not not not not not not not not not not not not not not not …
    |                                          ^
help: split the computation into several 'let:' values of the block

"""#)
    }

    /// A flat chain of additions builds a tree as deep as it is long.
    @Test func additionChain() {
        let r = rendered(head(String(repeating: "$classes + ", count: 80_000) + "1"))
        #expect(r.succeeded == false)
        #expect(r.text == #"""
spec.yaml:7:762: error: in expression '$classes + $classes + $classes + $classes + $classes + $clas…': more than 64 operators, calls and parentheses
  7 | …lasses + $classes + $classes + $classes + $classes + $classes + $classes + $classes + $classes + $classes + $classes + $…
    |                                          ^
help: split the computation into several 'let:' values of the block

"""#)
    }

    /// A chain of 3,000 blocks, each using the next, used to overflow the stack.
    @Test func blockChain() {
        let r = rendered(blockChain(3000))
        #expect(r.succeeded == false)
        #expect(r.text == #"""
spec.yaml:69:12: error: blocks nest more than 32 deep: b0 -> b1 -> b2 -> ... -> b30 -> b31 -> b32
  69 |     body: [b32]
     |            ^~~
help: a block may use other blocks, but only a few levels deep

"""#)
    }

    /// Blocks `b0` to `b<n-1>`, each one's body the next block; the last is a relu.
    func blockChain(_ n: Int) -> String {
        var s = "netc: 1\nname: t\ninput: {channels: 1, size: 8}\nclasses: 10\nblocks:\n"
        for i in 0..<n { s += "  b\(i):\n    body: [\(i + 1 < n ? "b\(i + 1)" : "relu")]\n" }
        return s + "stages:\n  - {block: b0, depth: 1, channels: 1}\nhead: [global_avgpool, flatten, {linear: {out: $classes}}]\n"
    }
}
