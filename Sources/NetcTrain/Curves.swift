import Foundation

/// One line of a plot: points in data coordinates plus its style.
public struct CurveSeries: Sendable, Equatable {
    public var name: String
    public var xs: [Double]
    public var ys: [Double]
    /// Any SVG colour.
    public var color: String
    /// SVG `stroke-dasharray`, or nil for a solid line.
    public var dash: String?

    public init(name: String, xs: [Double], ys: [Double], color: String, dash: String? = nil) {
        precondition(xs.count == ys.count, "CurveSeries: xs and ys differ in length")
        self.name = name; self.xs = xs; self.ys = ys; self.color = color; self.dash = dash
    }
}

/// Metrics of one finished epoch (1-based), as d2l's `train_ch6` plots them.
public struct EpochMetrics: Sendable, Equatable {
    public var epoch: Int
    public var trainLoss: Double
    public var trainAcc: Double
    public var testAcc: Double

    public init(epoch: Int, trainLoss: Double, trainAcc: Double, testAcc: Double) {
        self.epoch = epoch; self.trainLoss = trainLoss; self.trainAcc = trainAcc; self.testAcc = testAcc
    }
}

/// Self-contained SVG line plots in the style of the d2l book's training
/// animation: x = epoch, "train loss" solid blue, "train acc" dashed
/// magenta, "test acc" dash-dot green, with grid, ticks and a legend.
/// Every point is also drawn as a marker so a 1-epoch run still shows data.
public enum TrainingCurves {
    /// d2l's series styles (matplotlib `'-'`, `'m--'`, `'g-.'`).
    public static let d2lStyles: [(name: String, color: String, dash: String?)] = [
        ("train loss", "#1f77b4", nil),
        ("train acc", "#bf00bf", "6,4"),
        ("test acc", "#008000", "8,3,2,3"),
    ]

    /// The d2l plot from per-epoch metrics (points at x = epoch).
    public static func svg(epochs: [EpochMetrics], title: String? = nil) -> String {
        let xs = epochs.map { Double($0.epoch) }
        let ys = [epochs.map(\.trainLoss), epochs.map(\.trainAcc), epochs.map(\.testAcc)]
        let series = zip(d2lStyles, ys).map {
            CurveSeries(name: $0.name, xs: xs, ys: $1, color: $0.color, dash: $0.dash)
        }
        return svg(series: series, title: title)
    }

    /// Renders `series` as an SVG document.
    ///
    /// The x range is `[0, max(1, ceil(max x))]` unless `xRange` is given;
    /// the y range covers all finite data, widened to whole tick steps.
    /// Non-finite y values are skipped and break the line.
    public static func svg(series: [CurveSeries], xLabel: String = "epoch", yLabel: String? = nil,
                           title: String? = nil, width: Int = 520, height: Int = 360,
                           xRange: ClosedRange<Double>? = nil) -> String {
        let finite = series.flatMap { s in zip(s.xs, s.ys).filter { $0.0.isFinite && $0.1.isFinite } }
        let xr = xRange ?? 0 ... max(1, (finite.map(\.0).max() ?? 1).rounded(.up))
        let (yTicks, yr) = niceTicks(lo: finite.map(\.1).min() ?? 0, hi: finite.map(\.1).max() ?? 1)
        let (xTicks, _) = niceTicks(lo: xr.lowerBound, hi: xr.upperBound, expand: false)

        // Plot area; room on the left for y labels, below for x labels,
        // above for the title and the legend row.
        let left = 62.0, right = Double(width) - 18
        // Legend entries wrap into rows as wide as the plot; each row takes room above it.
        func entryWidth(_ s: CurveSeries) -> Double { 34 + Double(s.name.count) * 7 + 22 }
        var legendRows = 1, rowWidth = 0.0
        for s in series {
            if rowWidth > 0 && rowWidth + entryWidth(s) > right - left { legendRows += 1; rowWidth = 0 }
            rowWidth += entryWidth(s)
        }
        let top = (title == nil ? 40.0 : 62.0) + Double(legendRows - 1) * 18, bottom = Double(height) - 48
        func px(_ x: Double) -> Double { left + (x - xr.lowerBound) / (xr.upperBound - xr.lowerBound) * (right - left) }
        func py(_ y: Double) -> Double { bottom - (y - yr.lowerBound) / (yr.upperBound - yr.lowerBound) * (bottom - top) }
        func f(_ v: Double) -> String { String(format: "%.2f", v) }

        var o: [String] = []
        o.append(#"<?xml version="1.0" encoding="UTF-8"?>"#)
        o.append(#"<svg xmlns="http://www.w3.org/2000/svg" width="\#(width)" height="\#(height)" viewBox="0 0 \#(width) \#(height)" font-family="DejaVu Sans, Helvetica, Arial, sans-serif" font-size="12">"#)
        o.append(#"<rect x="0" y="0" width="\#(width)" height="\#(height)" fill="white"/>"#)
        if let title {
            o.append(#"<text x="\#(f((left + right) / 2))" y="20" text-anchor="middle" font-size="14">\#(xmlEscape(title))</text>"#)
        }
        // Grid and ticks.
        o.append(##"<g class="grid" stroke="#d0d0d0" stroke-width="1">"##)
        for t in xTicks { o.append(#"<line x1="\#(f(px(t)))" y1="\#(f(top))" x2="\#(f(px(t)))" y2="\#(f(bottom))"/>"#) }
        for t in yTicks { o.append(#"<line x1="\#(f(left))" y1="\#(f(py(t)))" x2="\#(f(right))" y2="\#(f(py(t)))"/>"#) }
        o.append("</g>")
        o.append(#"<g class="axes" stroke="black" stroke-width="1" fill="none">"#)
        o.append(#"<rect x="\#(f(left))" y="\#(f(top))" width="\#(f(right - left))" height="\#(f(bottom - top))"/>"#)
        for t in xTicks { o.append(#"<line x1="\#(f(px(t)))" y1="\#(f(bottom))" x2="\#(f(px(t)))" y2="\#(f(bottom + 5))"/>"#) }
        for t in yTicks { o.append(#"<line x1="\#(f(left - 5))" y1="\#(f(py(t)))" x2="\#(f(left))" y2="\#(f(py(t)))"/>"#) }
        o.append("</g>")
        o.append(#"<g class="tick-labels" fill="black">"#)
        for t in xTicks {
            o.append(#"<text x="\#(f(px(t)))" y="\#(f(bottom + 18))" text-anchor="middle">\#(tickLabel(t, xTicks))</text>"#)
        }
        for t in yTicks {
            o.append(#"<text x="\#(f(left - 8))" y="\#(f(py(t) + 4))" text-anchor="end">\#(tickLabel(t, yTicks))</text>"#)
        }
        o.append(#"<text x="\#(f((left + right) / 2))" y="\#(f(Double(height) - 10))" text-anchor="middle">\#(xmlEscape(xLabel))</text>"#)
        if let yLabel {
            o.append(#"<text transform="translate(16,\#(f((top + bottom) / 2))) rotate(-90)" text-anchor="middle">\#(xmlEscape(yLabel))</text>"#)
        }
        o.append("</g>")
        // Data: polylines per finite run, then markers on every point.
        for s in series {
            let dash = s.dash.map { #" stroke-dasharray="\#($0)""# } ?? ""
            o.append(#"<g class="series" data-name="\#(xmlEscape(s.name))">"#)
            var run: [String] = []
            func flush() {
                if run.count > 1 {
                    o.append(#"<polyline fill="none" stroke="\#(xmlEscape(s.color))" stroke-width="2"\#(dash) points="\#(run.joined(separator: " "))"/>"#)
                }
                run = []
            }
            for (x, y) in zip(s.xs, s.ys) {
                if x.isFinite && y.isFinite { run.append("\(f(px(x))),\(f(py(y)))") } else { flush() }
            }
            flush()
            for (x, y) in zip(s.xs, s.ys) where x.isFinite && y.isFinite {
                o.append(#"<circle cx="\#(f(px(x)))" cy="\#(f(py(y)))" r="3" fill="\#(xmlEscape(s.color))"/>"#)
            }
            o.append("</g>")
        }
        // Legend row above the plot: sample line + marker + name.
        o.append(#"<g class="legend">"#)
        var lx = left
        var ly = top - 14 - Double(legendRows - 1) * 18
        for s in series {
            if lx > left && lx - left + entryWidth(s) > right - left { lx = left; ly += 18 }
            let dash = s.dash.map { #" stroke-dasharray="\#($0)""# } ?? ""
            o.append(#"<line x1="\#(f(lx))" y1="\#(f(ly))" x2="\#(f(lx + 28))" y2="\#(f(ly))" stroke="\#(xmlEscape(s.color))" stroke-width="2"\#(dash)/>"#)
            o.append(#"<circle cx="\#(f(lx + 14))" cy="\#(f(ly))" r="3" fill="\#(xmlEscape(s.color))"/>"#)
            o.append(#"<text x="\#(f(lx + 34))" y="\#(f(ly + 4))">\#(xmlEscape(s.name))</text>"#)
            lx += entryWidth(s)
        }
        o.append("</g>")
        o.append("</svg>")
        return o.joined(separator: "\n") + "\n"
    }

    /// Ticks at a "nice" step (1, 2 or 5 × 10^k) giving about five
    /// intervals. With `expand`, the range grows to whole steps so all data
    /// lies inside; a zero-width range is widened first.
    static func niceTicks(lo: Double, hi: Double, expand: Bool = true) -> ([Double], ClosedRange<Double>) {
        var lo = lo, hi = hi
        if hi - lo < 1e-12 {
            let pad = max(abs(lo) * 0.1, 0.05)
            lo -= pad; hi += pad
        }
        let raw = (hi - lo) / 5
        let mag = pow(10, (log10(raw)).rounded(.down))
        let step = [1.0, 2, 5, 10].map { $0 * mag }.first { $0 >= raw * 0.999 } ?? 10 * mag
        if expand {
            lo = (lo / step).rounded(.down) * step
            hi = (hi / step).rounded(.up) * step
        }
        var ticks: [Double] = []
        var t = (lo / step - 1e-9).rounded(.up) * step
        while t <= hi + step * 1e-9 {
            ticks.append(abs(t) < step * 1e-9 ? 0 : t)
            t += step
        }
        return (ticks, lo ... hi)
    }

    /// Formats `t` with just enough decimals for the tick spacing.
    static func tickLabel(_ t: Double, _ ticks: [Double]) -> String {
        let step = ticks.count > 1 ? ticks[1] - ticks[0] : 1
        let decimals = max(0, Int((-log10(step) - 1e-9).rounded(.up)))
        return String(format: "%.\(decimals)f", t)
    }

    static func xmlEscape(_ s: String) -> String {
        var out = ""
        for c in s {
            switch c {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&apos;"
            default: out.append(c)
            }
        }
        return out
    }
}
