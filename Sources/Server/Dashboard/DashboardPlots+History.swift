import Foundation

extension DashboardPlots {
    /// Several series over time on one percent axis (a scope's metric history: holdout, live and shadow accuracy per
    /// version). Each series has its colour and its marker shape, named in the legend, so colour is not the only
    /// carrier; each mark's `<title>` names the version, the value and the rows behind it.
    struct History {
        struct Mark {
            /// An SVG path (the marker's shape at its point).
            let d: String
            let title: String
        }
        struct Series {
            let name: String
            let colour: String
            let shape: String
            let line: String
            let marks: [Mark]
            /// The legend's marker and text position.
            let keyD: String
            let keyX: String
            let keyY: String
        }

        let id: String
        let title: String
        let xLabel: String
        let yLabel: String
        let series: [Series]
        let xTicks: [Tick]
        let yTicks: [Tick]
        let empty: Bool
        let count: Int
    }

    static let seriesStyles: [(colour: String, shape: String)] = [
        ("#1f3b57", "circle"), ("#c62828", "square"), ("#2e7d32", "triangle"), ("#6a1b9a", "diamond"),
        ("#ef6c00", "circle"), ("#00838f", "square"),
    ]

    /// A marker of `shape` centred at (x, y) as a path.
    static func marker(_ shape: String, _ x: Double, _ y: Double, r: Double = 4) -> String {
        switch shape {
        case "square": return "M\(f(x - r)),\(f(y - r))h\(f(2 * r))v\(f(2 * r))h\(f(-2 * r))Z"
        case "triangle": return "M\(f(x)),\(f(y - r - 1))L\(f(x + r + 1)),\(f(y + r))L\(f(x - r - 1)),\(f(y + r))Z"
        case "diamond":
            return "M\(f(x)),\(f(y - r - 1))L\(f(x + r + 1)),\(f(y))L\(f(x)),\(f(y + r + 1))L\(f(x - r - 1)),\(f(y))Z"
        default: return "M\(f(x - r)),\(f(y))a\(f(r)),\(f(r)) 0 1,0 \(f(2 * r)),0a\(f(r)),\(f(r)) 0 1,0 \(f(-2 * r)),0Z"
        }
    }

    /// `series`: name → points (time, fraction 0…1, what the mark's title says), each in time order.
    static func history(
        id: String, title: String, yLabel: String,
        series: [(name: String, points: [(at: Double, value: Double, label: String)])]
    ) -> History {
        let (left, right, top, bottom) = (56.0, 606.0, 40.0, 200.0)
        let all = series.flatMap(\.points)
        guard let first = all.map(\.at).min(), let last = all.map(\.at).max() else {
            return History(
                id: id, title: title, xLabel: "time (UTC)", yLabel: yLabel, series: [], xTicks: [], yTicks: [],
                empty: true, count: 0)
        }
        let span = max(last - first, 1)
        let low = max(0, ((all.map(\.value).min() ?? 1) * 10).rounded(.down) / 10 - 0.1)
        let high = 1.0
        // A single instant sits in the middle.
        let x = { (t: Double) in last == first ? (left + right) / 2 : left + (t - first) / span * (right - left) }
        let y = { (v: Double) in bottom - (v - low) / (high - low) * (bottom - top) }
        var out: [History.Series] = []
        for (i, s) in series.enumerated() {
            let style = seriesStyles[i % seriesStyles.count]
            let keyX = left + 8 + Double(i % 3) * 180
            let keyY = 12 + Double(i / 3) * 14
            out.append(
                History.Series(
                    name: s.name, colour: style.colour, shape: style.shape,
                    line: s.points.map { "\(f(x($0.at))),\(f(y($0.value)))" }.joined(separator: " "),
                    marks: s.points.map {
                        History.Mark(
                            d: marker(style.shape, x($0.at), y($0.value)),
                            title: "\(s.name): \($0.label) \(String(format: "%.1f", $0.value * 100)) % at "
                                + clock($0.at, long: true))
                    },
                    keyD: marker(style.shape, keyX, keyY), keyX: f(keyX + 8), keyY: f(keyY + 4)))
        }
        let long = span > 86_400
        let xTicks =
            last == first
            ? [Tick(position: f(x(first)), label: clock(first, long: true))]
            : (0...4).map { i -> Tick in
                let t = first + span * Double(i) / 4
                return Tick(position: f(x(t)), label: clock(t, long: long))
            }
        let steps = max(Int(((high - low) * 10).rounded()), 1)
        let yTicks = (0...steps).map { i -> Tick in
            let v = low + Double(i) * (high - low) / Double(steps)
            return Tick(position: f(y(v)), label: String(format: "%.0f", v * 100))
        }
        return History(
            id: id, title: title, xLabel: long ? "measured at (UTC, month-day time)" : "measured at (UTC)",
            yLabel: yLabel, series: out, xTicks: xTicks, yTicks: yTicks, empty: false, count: all.count)
    }
}
