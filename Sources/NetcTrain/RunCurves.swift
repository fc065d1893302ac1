import Foundation

/// One run's curves from its metrics.jsonl, as the d2l book's training animation draws them:
/// train loss and train accuracy at each logged step (x in epochs, so several points within
/// each epoch), test accuracy at the end of each epoch.
public struct RunCurves: Sendable {
    public typealias Point = (x: Double, y: Double)
    public var name: String
    public var trainLoss: [Point] = [], trainAcc: [Point] = [], testAcc: [Point] = []

    /// Reads `RUN_DIR/metrics.jsonl` (its last line may be cut short by a kill: it is skipped).
    public init(runDirectory: String, name: String? = nil) throws {
        let path = (runDirectory as NSString).appendingPathComponent(RunDirectory.metricsName)
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            throw TrainingError("\(runDirectory) has no readable \(RunDirectory.metricsName)", help: "give the directory of a netc train run")
        }
        self.name = name ?? (runDirectory as NSString).standardizingPath.split(separator: "/").last.map(String.init) ?? runDirectory
        let records = text.split(separator: "\n").compactMap { try? JSON.parse(Array($0.utf8)) }
        let epochs = records.filter { $0["kind"]?.stringValue == "epoch" }
        // Steps per epoch from the first finished epoch; a run that finished none spans one.
        let perEpoch = epochs.first.flatMap { r in r["step"]?.intValue.flatMap { s in r["epoch"]?.intValue.map { Double(s) / Double(max($0, 1)) } } }
            ?? Double(records.compactMap { $0["step"]?.intValue }.max() ?? 1)
        for r in records {
            guard let step = r["step"]?.intValue else { continue }
            let x = Double(step) / max(perEpoch, 1)
            switch r["kind"]?.stringValue {
            case "step":   // `loss` and `accuracy` in logs written before the names were unified
                if let y = (r["train_loss"] ?? r["loss"])?.doubleValue { trainLoss.append((x, y)) }
                if let y = (r["train_acc"] ?? r["accuracy"])?.doubleValue { trainAcc.append((x, y)) }
            case "epoch":
                if let y = r["test_acc"]?.doubleValue { testAcc.append((x, y)) }
            default:
                break
            }
        }
        guard !(trainLoss.isEmpty && testAcc.isEmpty) else {
            throw TrainingError("\(path) holds no step or epoch records yet", help: "plot a run that has logged a step (--log-every sets how often)")
        }
    }

    /// The runs overlaid: one run keeps d2l's colours; several get a colour each, the metric
    /// told by the line's dash (loss solid, train accuracy dashed, test accuracy dash-dotted).
    public static func svg(_ runs: [RunCurves], title: String? = nil) -> String {
        let palette = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#17becf", "#8c564b", "#e377c2"]
        var series: [CurveSeries] = []
        for (i, run) in runs.enumerated() {
            for (k, (metric, points)) in [("train loss", run.trainLoss), ("train acc", run.trainAcc), ("test acc", run.testAcc)].enumerated()
            where !points.isEmpty {
                let style = TrainingCurves.d2lStyles[k]
                let color = runs.count == 1 ? style.color : palette[i % palette.count]
                series.append(CurveSeries(name: runs.count == 1 ? metric : "\(run.name): \(metric)", xs: points.map(\.x), ys: points.map(\.y),
                                          color: color, dash: style.dash))
            }
        }
        return TrainingCurves.svg(series: series, yLabel: "loss / accuracy", title: title, width: runs.count == 1 ? 520 : 720)
    }
}
