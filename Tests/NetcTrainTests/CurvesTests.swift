import Foundation
import Testing
#if canImport(FoundationXML)
import FoundationXML
#endif
@testable import NetcTrain

@Suite struct CurvesTests {
    let history = [
        EpochMetrics(epoch: 1, trainLoss: 0.876, trainAcc: 0.689, testAcc: 0.791),
        EpochMetrics(epoch: 2, trainLoss: 0.412, trainAcc: 0.847, testAcc: 0.862),
        EpochMetrics(epoch: 3, trainLoss: 0.331, trainAcc: 0.878, testAcc: 0.805),
    ]

    @Test func containsSeriesLegendAxesAndParsesAsXML() throws {
        let svg = TrainingCurves.svg(epochs: history, title: "ResNet-18 <Fashion-MNIST & 96px>")
        for name in ["train loss", "train acc", "test acc"] {
            #expect(svg.contains(#"data-name="\#(name)""#))
            #expect(svg.contains(">\(name)</text>"))  // legend entry
        }
        #expect(svg.contains(">epoch</text>"))
        #expect(svg.contains("ResNet-18 &lt;Fashion-MNIST &amp; 96px&gt;"))
        #expect(svg.components(separatedBy: "<polyline").count - 1 == 3)
        #expect(svg.components(separatedBy: "<circle").count - 1 == 9 + 3)  // points + legend markers
        #if canImport(FoundationXML)
        let doc = try XMLDocument(xmlString: svg, options: [])
        let root = try #require(doc.rootElement())
        #expect(root.name == "svg")
        func named(_ e: XMLElement) -> [String] {
            // attribute(forName:) found nothing here on Linux (default namespace), so scan.
            let own = (e.attributes ?? []).filter { $0.name == "data-name" }.compactMap(\.stringValue)
            return own + (e.children ?? []).compactMap { $0 as? XMLElement }.flatMap(named)
        }
        let names = named(root)
        #expect(names == ["train loss", "train acc", "test acc"])
        #else
        #expect(svg.hasPrefix("<?xml") && svg.hasSuffix("</svg>\n"))
        #endif
    }

    @Test func yRangeCoversDataWithNiceTicks() {
        let (ticks, range) = TrainingCurves.niceTicks(lo: 0.331, hi: 0.876)
        #expect(ticks.first! <= 0.331 && ticks.last! >= 0.876)
        #expect(range.lowerBound <= 0.331 && range.upperBound >= 0.876)
        #expect(ticks.map { ($0 * 10).rounded() / 10 } == [0.2, 0.4, 0.6, 0.8, 1.0])  // step 0.2 for a 0.55 span
        #expect(TrainingCurves.tickLabel(ticks[1], ticks) == "0.4")
        #expect(TrainingCurves.tickLabel(0.6, [0.6, 0.7]) == "0.6")  // step 0.1: one decimal
        #expect(TrainingCurves.tickLabel(0.65, [0.6, 0.65]) == "0.65")
        #expect(TrainingCurves.tickLabel(4, [2, 4]) == "4")
        // Degenerate range still gets several ticks.
        let (t1, r1) = TrainingCurves.niceTicks(lo: 0.5, hi: 0.5)
        #expect(t1.count >= 3 && r1.contains(0.5) && r1.upperBound > r1.lowerBound)
    }

    @Test func singleEpochShowsMarkers() throws {
        let svg = TrainingCurves.svg(epochs: [history[0]])
        #expect(!svg.contains("<polyline"))  // one point: no line, but...
        #expect(svg.components(separatedBy: "<circle").count - 1 == 3 + 3)  // ...three markers
        #expect(!svg.contains("nan") && !svg.contains("inf"))
    }

    @Test func nonFiniteValuesBreakTheLine() {
        let s = CurveSeries(name: "loss", xs: [1, 2, 3, 4, 5], ys: [1, 0.5, .nan, 0.3, 0.2], color: "red")
        let svg = TrainingCurves.svg(series: [s])
        #expect(svg.components(separatedBy: "<polyline").count - 1 == 2)
        #expect(!svg.lowercased().contains("nan"))
    }
}

/// A run's curves from its metrics.jsonl: step points within each epoch at step / steps per epoch,
/// test accuracy at each epoch's end, logs with the older step names read alike; several runs overlaid.
@Test func runCurvesPlaceStepsWithinEpochs() throws {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("netc-curves-\(UUID().uuidString)").path
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: dir) }
    try """
        {"kind":"step","epoch":1,"step":2,"train_loss":2.0,"train_acc":0.2,"lr":0.1}
        {"kind":"step","epoch":1,"step":4,"loss":1.5,"accuracy":0.4,"lr":0.1}
        {"kind":"epoch","epoch":1,"step":4,"train_loss":1.7,"train_acc":0.3,"test_loss":1.2,"test_acc":0.55}
        {"kind":"step","epoch":2,"step":6,"train_loss":1.0,"train_acc":0.6,"lr":0.1}
        {"kind":"ep
        """.write(toFile: "\(dir)/metrics.jsonl", atomically: true, encoding: .utf8)
    let run = try RunCurves(runDirectory: dir, name: "a")
    #expect(run.trainLoss.map(\.x) == [0.5, 1.0, 1.5] && run.trainLoss.map(\.y) == [2.0, 1.5, 1.0])
    #expect(run.trainAcc.map(\.y) == [0.2, 0.4, 0.6])
    #expect(run.testAcc.map(\.x) == [1.0] && run.testAcc.map(\.y) == [0.55])
    var other = run
    other.name = "b"
    let svg = RunCurves.svg([run, other], title: "a vs b")
    #expect(svg.contains(">loss / accuracy</text>") && svg.contains("a: train loss") && svg.contains("b: test acc"))
    #expect(throws: TrainingError.self) { try RunCurves(runDirectory: "\(dir)/missing") }
}
