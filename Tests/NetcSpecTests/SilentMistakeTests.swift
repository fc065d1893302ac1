import NetcIR
import Testing
@testable import NetcSpec

/// Specs that used to compile into something the user did not mean, or were refused at the wrong
/// place: each now gets a located error (or warning) saying what is wrong and how to fix it.
struct SilentMistakeTests {
    /// A non-boolean `if` used to point at `classes:`, where the value came from.
    @Test func ifIsLocatedAtTheIf() {
        let r = rendered(#"""
netc: 1
name: t
input: {channels: 1, size: 32}
classes: 10
stem:
  - conv: {out: 8, kernel: 3, pad: 1}
  - relu: {if: "$classes"}
  - relu: {if: $classes > 3}
  - relu: {if: 7}
stages:
  - {block: residual, depth: 1, channels: 8}
head: [global_avgpool, flatten, {linear: {out: $classes}}]
"""#)
        #expect(r.succeeded == false)
        #expect(r.text == #"""
spec.yaml:7:17: error: 'if' must be true or false, got the number 10
  7 |   - relu: {if: "$classes"}
    |                 ^~~~~~~~
spec.yaml:4:10: note: the value 10 is set here
  4 | classes: 10
    |          ^~
help: write true, false or a comparison such as '$classes > 10'
spec.yaml:9:16: error: 'if' must be true or false, got the number 7
  9 |   - relu: {if: 7}
    |                ^
help: write true, false or a comparison such as '$classes > 10'

"""#)
    }

    /// An empty body used to add the input to itself; `depths: []` used to give a network with no stages.
    @Test func emptyBodyAndEmptyStageLists() {
        let r = rendered(#"""
netc: 1
name: t
input: {channels: 1, size: 32}
classes: 10
blocks:
  nothing:
    body: []
  nobody:
    doc: no body key
stem:
  - conv: {out: 8, kernel: 3, pad: 1}
stages:
  block: residual
  depths: []
  widths: []
head: [global_avgpool, flatten, {linear: {out: $classes}}]
"""#)
        #expect(r.succeeded == false)
        #expect(r.text == #"""
spec.yaml:7:11: error: block 'nothing' has an empty body
  7 |     body: []
    |           ^
help: give 'body' the residual branch's layers, e.g. '[conv: {out: $channels, kernel: 3, pad: 1}, batchnorm]'
spec.yaml:9:5: error: block 'nobody' is missing 'body' (the residual branch's layers)
  9 |     doc: no body key
    |     ^
help: add 'body: ...'
spec.yaml:14:3: error: 'depths' is empty: the network would have no stages
  14 |   depths: []
     |   ^~~~~~
help: give one entry per stage, e.g. 'depths: [2, 2, 2, 2]'

"""#)
    }

    /// A spec with a `train:` recipe whose output is a feature map cannot be trained.
    @Test func noClassifierHeadWithARecipe() {
        let r = rendered(#"""
netc: 1
name: t
input: {channels: 1, size: 32}
classes: 10
stages:
  - {block: residual, depth: 1, channels: 8}
train: {epochs: 1}
"""#)
        #expect(r.succeeded == false)
        #expect(r.text == #"""
spec.yaml:6:5: error: the network's output is a feature map (8x32x32), but training needs a vector of class logits, [10]
  6 |   - {block: residual, depth: 1, channels: 8}
    |     ^
spec.yaml:4:10: note: 'classes' is set here
  4 | classes: 10
    |          ^~
help: end the head with 'global_avgpool, flatten, {linear: {out: $classes}}'

"""#)
    }

    /// With `classes:` but no recipe, a head of the wrong width is a warning.
    @Test func wrongNumberOfLogitsIsAWarning() {
        let r = rendered(#"""
netc: 1
name: t
input: {channels: 1, size: 32}
classes: 10
stages:
  - {block: residual, depth: 1, channels: 8}
head: [global_avgpool, flatten, {linear: {out: 100}}]
"""#)
        #expect(r.succeeded == true)
        #expect(r.text == #"""
spec.yaml:7:34: warning: the network's output has 100 features, but training needs one logit per class: [10]
  7 | head: [global_avgpool, flatten, {linear: {out: 100}}]
    |                                  ^~~~~~
spec.yaml:4:10: note: 'classes' is set here
  4 | classes: 10
    |          ^~
help: make the last linear layer 'linear: {out: $classes}'

"""#)
    }

    /// A recipe with neither `classes:` nor a vector output.
    @Test func recipeWithoutClasses() {
        let r = rendered(#"""
netc: 1
name: t
input: {channels: 1, size: 32}
stages:
  - {block: residual, depth: 1, channels: 8}
head: [global_avgpool]
train: {epochs: 1}
"""#)
        #expect(r.succeeded == false)
        #expect(r.text == #"""
spec.yaml:6:8: error: the network's output is a feature map (8x1x1), but training needs a vector of class logits, [classes]
  6 | head: [global_avgpool]
    |        ^~~~~~~~~~~~~~
help: end the head with 'global_avgpool, flatten, {linear: {out: $classes}}' and declare 'classes:'

"""#)
    }

    /// A `let` that does not parse used to be reported again as an undefined parameter wherever it was used.
    @Test func refusedExpressionsReportOnce() {
        let r = rendered(#"""
netc: 1
name: t
input: {channels: 1, size: 32}
classes: 10
blocks:
  b:
    let: {inner: "$channels *"}
    body: [{conv: {out: $inner, kernel: 3, pad: 1}}]
stages:
  - {block: residual, depth: 1, channels: "$classes +"}
  - {block: b, depth: 1, channels: 8}
head: [global_avgpool, flatten, {linear: {out: "$classes *"}}]
"""#)
        #expect(r.succeeded == false)
        #expect(r.text == #"""
spec.yaml:7:30: error: in expression '$channels *': expected a value
  7 |     let: {inner: "$channels *"}
    |                              ^
spec.yaml:10:54: error: in expression '$classes +': expected a value
  10 |   - {block: residual, depth: 1, channels: "$classes +"}
     |                                                      ^
spec.yaml:12:59: error: in expression '$classes *': expected a value
  12 | head: [global_avgpool, flatten, {linear: {out: "$classes *"}}]
     |                                                           ^

"""#)
    }
}
