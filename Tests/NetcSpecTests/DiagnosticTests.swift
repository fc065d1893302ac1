import NetcIR
import Testing
@testable import NetcSpec

/// Every error the spec language reports, rendered in full (caret and help included), so a change
/// in wording, location or underline shows up here.
struct DiagnosticTests {
    @Test func yamlSyntaxError() {
        let r = rendered(#"""
netc: 1
name: t
input: {channels: 1, size: 32}
stages: [{block: residual, depth: 2, channels: 64}
head: [flatten]

"""#)
        #expect(r.succeeded == false)
        #expect(r.text == #"""
spec.yaml:5:1: error: did not find expected ',' or ']' while parsing a flow sequence
  5 | head: [flatten]
    | ^
spec.yaml:4:9: note: the flow sequence starts here
  4 | stages: [{block: residual, depth: 2, channels: 64}
    |         ^
help: close the list with ']' and separate its items with ',' (the '[' is at line 4, column 9)

"""#)
    }

    @Test func unknownKeysWithDidYouMean() {
        let r = rendered(#"""
netc: 1
name: t
input: {channels: 1, size: 32}
stages:
  - {block: residual, depht: 2, channels: 64}
haed: [flatten]

"""#)
        #expect(r.succeeded == false)
        #expect(r.text == #"""
spec.yaml:5:23: error: unknown key 'depht' for a stage of 'residual' blocks
  5 |   - {block: residual, depht: 2, channels: 64}
    |                       ^~~~~
help: did you mean 'depth'?
spec.yaml:6:1: error: unknown key 'haed' in the spec
  6 | haed: [flatten]
    | ^~~~
help: did you mean 'head'?

"""#)
    }

    @Test func wrongTypes() {
        let r = rendered(#"""
netc: 1
name: t
input: {channels: 1, size: 32}
stages:
  - {block: residual, depth: 2.5, channels: 64}
  - {block: residual, depth: 2, channels: sixty-four}

"""#)
        #expect(r.succeeded == false)
        #expect(r.text == #"""
spec.yaml:5:30: error: 'depth' must be an integer, got the number 2.5
  5 |   - {block: residual, depth: 2.5, channels: 64}
    |                              ^~~
help: 'depth' counts whole blocks: use an integer such as 2
spec.yaml:6:43: error: 'channels' must be an integer, got the string 'sixty-four'
  6 |   - {block: residual, depth: 2, channels: sixty-four}
    |                                           ^~~~~~~~~~

"""#)
    }

    @Test func yaml11BooleansStayStrings() {
        let r = rendered(#"""
netc: 1
name: t
input: {channels: 1, size: 32}
defaults: {bias: no}
stages:
  - {block: residual, depth: 1, channels: 8}

"""#)
        #expect(r.succeeded == false)
        #expect(r.text == #"""
spec.yaml:4:18: error: 'bias' must be true or false, got the string 'no'
  4 | defaults: {bias: no}
    |                  ^~
help: netc reads YAML 1.2: only 'true' and 'false' are booleans

"""#)
    }

    @Test func missingRequiredKeys() {
        let r = rendered(#"""
netc: 1
name: t
input: {channels: 1}
stages:
  - {block: residual, channels: 64}

"""#)
        #expect(r.succeeded == false)
        #expect(r.text == #"""
spec.yaml:3:8: error: input needs 'size' (or 'height' and 'width')
  3 | input: {channels: 1}
    |        ^
help: e.g. 'input: {channels: 1, size: 96}'
spec.yaml:5:5: error: stage is missing 'depth'
  5 |   - {block: residual, channels: 64}
    |     ^
help: add 'depth: ...'

"""#)
    }

    @Test func nonPositiveSizes() {
        let r = rendered(#"""
netc: 1
name: t
input: {channels: 1, size: 32}
stem:
  - conv: {out: 0, kernel: 3}
stages:
  - {block: residual, depth: -1, channels: 64}

"""#)
        #expect(r.succeeded == false)
        #expect(r.text == #"""
spec.yaml:5:17: error: 'out' of 'conv' must be positive, got 0
  5 |   - conv: {out: 0, kernel: 3}
    |                 ^
spec.yaml:7:30: error: 'depth' must be positive, got -1
  7 |   - {block: residual, depth: -1, channels: 64}
    |                              ^~

"""#)
    }

    @Test func unknownBlockAndLayer() {
        let r = rendered(#"""
netc: 1
name: t
input: {channels: 1, size: 32}
stem: [rellu]
stages:
  - {block: bottlenek, depth: 1, channels: 64}

"""#)
        #expect(r.succeeded == false)
        #expect(r.text == #"""
spec.yaml:4:8: error: unknown layer or block 'rellu'
  4 | stem: [rellu]
    |        ^~~~~
help: did you mean 'relu'?
spec.yaml:6:13: error: unknown block 'bottlenek'
  6 |   - {block: bottlenek, depth: 1, channels: 64}
    |             ^~~~~~~~~
help: did you mean 'bottleneck'?

"""#)
    }

    @Test func groupsDoNotDivide() {
        let r = rendered(#"""
netc: 1
name: t
input: {channels: 1, size: 32}
stages:
  - {block: resnext, depth: 1, channels: 96, bot_mul: 0.5, groups: 5}

"""#)
        #expect(r.succeeded == false)
        #expect(r.text == #"""
spec.yaml:5:68: error: 5 groups do not divide the 48 input channels of 'conv' in block 'resnext'
  5 |   - {block: resnext, depth: 1, channels: 96, bot_mul: 0.5, groups: 5}
    |                                                                    ^
help: choose groups that divide 48

"""#)
    }

    @Test func groupWidthDoesNotDivide() {
        let r = rendered(#"""
netc: 1
name: t
input: {channels: 1, size: 32}
stages:
  - {block: resnext, depth: 1, channels: 96, bot_mul: 0.5, group_width: 20}

"""#)
        #expect(r.succeeded == false)
        #expect(r.text == #"""
spec.yaml:5:73: error: group_width 20 does not divide the 48 channels of 'conv' in block 'resnext'
  5 |   - {block: resnext, depth: 1, channels: 96, bot_mul: 0.5, group_width: 20}
    |                                                                         ^~
help: choose a group width that divides 48, e.g. 16

"""#)
    }

    @Test func groupsAndGroupWidthTogether() {
        let r = rendered(#"""
netc: 1
name: t
input: {channels: 1, size: 32}
stages:
  - {block: resnext, depth: 1, channels: 64, bot_mul: 1, groups: 4, group_width: 16}

"""#)
        #expect(r.succeeded == false)
        #expect(r.text == #"""
spec.yaml:5:82: error: 'conv' in block 'resnext' gets both 'groups' (4) and 'group_width' (16)
  5 |   - {block: resnext, depth: 1, channels: 64, bot_mul: 1, groups: 4, group_width: 16}
    |                                                                                  ^~
spec.yaml:5:66: note: 'groups' is given here
  5 |   - {block: resnext, depth: 1, channels: 64, bot_mul: 1, groups: 4, group_width: 16}
    |                                                                  ^
help: give one: 'groups' counts groups, 'group_width' counts channels per group

"""#)
    }

    @Test func bottleneckWidthRoundsToZero() {
        let r = rendered(#"""
netc: 1
name: t
input: {channels: 1, size: 32}
stages:
  - {block: bottleneck, depth: 1, channels: 16, bot_mul: 0.01}

"""#)
        #expect(r.succeeded == false)
        #expect(r.text == #"""
spec.yaml:5:45: error: 'out' of 'conv' in block 'bottleneck' must be positive, got 0
  5 |   - {block: bottleneck, depth: 1, channels: 16, bot_mul: 0.01}
    |                                             ^~
help: width = round($channels * $bot_mul) = 0 with channels=16, bot_mul=0.01; change the values so that it is at least 1

"""#)
    }

    @Test func unequalStageLists() {
        let r = rendered(#"""
netc: 1
name: t
input: {channels: 1, size: 32}
stages:
  block: resnext
  depths: [1, 2, 3]
  widths: [64, 128]
  bot_mul: 1
  group_width: 16

"""#)
        #expect(r.succeeded == false)
        #expect(r.text == #"""
spec.yaml:7:3: error: per-stage lists differ in length: depths has 3, widths has 2
  7 |   widths: [64, 128]
    |   ^~~~~~
help: give every per-stage list one entry per stage

"""#)
    }

    @Test func residualAddShapesDisagree() {
        let r = rendered(#"""
netc: 1
name: t
input: {channels: 1, size: 32}
blocks:
  plain:
    body:
      - conv: {out: $channels, kernel: 3, stride: $stride, pad: 1}
      - batchnorm
    after: [relu]
stages:
  - {block: plain, depth: 1, channels: 32, stride: 2}

"""#)
        #expect(r.succeeded == false)
        #expect(r.text == #"""
spec.yaml:11:5: error: residual add of block 'plain' does not fit: the body gives 32x16x16, the shortcut gives 1x32x32
  11 |   - {block: plain, depth: 1, channels: 32, stride: 2}
     |     ^
spec.yaml:8:9: note: the body's output (32x16x16) comes from stages.0.0.bn1
  8 |       - batchnorm
    |         ^~~~~~~~~
spec.yaml:3:8: note: the shortcut (1x32x32) comes from the block input
  3 | input: {channels: 1, size: 32}
    |        ^
help: give the block a shortcut projection (e.g. a 1x1 conv with the block's stride) used when the shape changes

"""#)
    }

    @Test func spatialSizeCollapses() {
        let r = rendered(#"""
netc: 1
name: t
input: {channels: 1, size: 8}
stem:
  - conv: {out: 16, kernel: 7, stride: 2, pad: 3}
stages:
  - {block: residual, depth: 1, channels: 16}
head:
  - maxpool: {kernel: 5}

"""#)
        #expect(r.succeeded == false)
        #expect(r.text == #"""
spec.yaml:9:5: error: pool 5x5/5 collapses the 4x4 feature map to 0x0 (at head.maxpool1, whose input is 16x4x4 for a 1x8x8 network input)
  9 |   - maxpool: {kernel: 5}
    |     ^~~~~~~
help: use a larger input size, or fewer downsampling layers

"""#)
    }

    @Test func undefinedParameter() {
        let r = rendered(#"""
netc: 1
name: t
input: {channels: 1, size: 32}
stages:
  - {block: residual, depth: 1, channels: 16}
head: [global_avgpool, flatten, {linear: {out: $clases}}]

"""#)
        #expect(r.succeeded == false)
        #expect(r.text == #"""
spec.yaml:6:48: error: in '$clases': undefined parameter '$clases'
  6 | head: [global_avgpool, flatten, {linear: {out: $clases}}]
    |                                                ^~~~~~~
help: no parameters are defined here; a top-level 'classes: 10' defines $classes

"""#)
    }

    @Test func recursiveBlocks() {
        let r = rendered(#"""
netc: 1
name: t
input: {channels: 1, size: 32}
blocks:
  a:
    body: [{b: {channels: $channels}}]
  b:
    body: [{a: {channels: $channels}}]
stages:
  - {block: a, depth: 1, channels: 8}

"""#)
        #expect(r.succeeded == false)
        #expect(r.text == #"""
spec.yaml:8:13: error: block 'a' uses itself: a -> b -> a
  8 |     body: [{a: {channels: $channels}}]
    |             ^
help: a block may use other blocks, but not itself

"""#)
    }

    @Test func duplicateKeys() {
        let r = rendered(#"""
netc: 1
name: t
input: {channels: 1, size: 32}
stages:
  - {block: residual, depth: 1, channels: 8, depth: 2}

"""#)
        #expect(r.succeeded == false)
        #expect(r.text == #"""
spec.yaml:5:46: error: duplicate key 'depth' in mapping
  5 |   - {block: residual, depth: 1, channels: 8, depth: 2}
    |                                              ^~~~~
spec.yaml:5:23: note: 'depth' was first defined here
  5 |   - {block: residual, depth: 1, channels: 8, depth: 2}
    |                       ^~~~~
help: remove one of them; YAML keys must be unique within a mapping

"""#)
    }

    @Test func emptyFile() {
        let r = rendered(#"""
# only a comment

"""#)
        #expect(r.succeeded == false)
        #expect(r.text == #"""
spec.yaml:1:1: error: file is empty: it holds no YAML content
  1 | # only a comment
    | ^
help: write the network spec as a YAML mapping in this file

"""#)
    }

    @Test func stageSeesOneByOneMapIsAWarning() {
        let r = rendered(#"""
netc: 1
name: t
input: {channels: 1, size: 4}
stem:
  - conv: {out: 8, kernel: 3, stride: 4, pad: 1}
stages:
  - {block: residual, depth: 1, channels: 8}
head: [global_avgpool, flatten, {linear: {out: 2}}]

"""#)
        #expect(r.succeeded == true)
        #expect(r.text == #"""
spec.yaml:7:5: warning: stage 0 sees a 1x1 feature map (8x1x1 for a 1x4x4 input)
  7 |   - {block: residual, depth: 1, channels: 8}
    |     ^
help: its convolutions see mostly padding; use a larger input or fewer stride-2 stages

"""#)
    }

    @Test func expressionSyntaxError() {
        let r = rendered(#"""
netc: 1
name: t
input: {channels: 1, size: 32}
blocks:
  wide:
    body:
      - conv: {out: $channels * * 2, kernel: 3, pad: 1}
stages:
  - {block: wide, depth: 1, channels: 8}

"""#)
        #expect(r.succeeded == false)
        #expect(r.text == #"""
spec.yaml:7:33: error: in expression '$channels * * 2': unexpected '*'
  7 |       - conv: {out: $channels * * 2, kernel: 3, pad: 1}
    |                                 ^

"""#)
    }

    @Test func unsupportedFormatVersion() {
        let r = rendered(#"""
netc: 2
name: t
input: {channels: 1, size: 32}
stages:
  - {block: residual, depth: 1, channels: 8}

"""#)
        #expect(r.succeeded == false)
        #expect(r.text == #"""
spec.yaml:1:7: error: this netc reads spec format 1, the file says 2
  1 | netc: 2
    |       ^
help: write 'netc: 1' and check the spec against docs/spec.md

"""#)
    }

}
