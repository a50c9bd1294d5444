import Foundation
import OccupantCore

/// Inline SVG plots as view models for the templates: every coordinate computed here, every text escaped by the
/// template. Axes are labelled with units; marks carry a `<title>` with their value (colour is never the only carrier).
enum DashboardPlots {
    struct Tick {
        let position: String
        let label: String
    }

    struct Point {
        let x: String
        let y: String
        let title: String
    }

    /// A line over time: points (one mark each), an optional dashed reference line, labelled axes.
    struct LinePlot {
        let id: String
        let title: String
        let xLabel: String
        let yLabel: String
        let width = 640
        let height = 240
        let left = 56
        let right = 630
        let top = 10
        let bottom = 200
        let points: [Point]
        /// `x,y x,y …` for the polyline.
        let line: String
        let reference: String?
        let referenceLabel: String?
        let xTicks: [Tick]
        let yTicks: [Tick]
        let empty: Bool
    }

    /// Seconds → `HH:MM` UTC (with the date when the span is longer than a day).
    static func clock(_ seconds: Double, long: Bool) -> String {
        let iso = Instant(seconds: seconds).iso8601 // 2026-01-05T08:00:00.000Z
        let date = iso.prefix(10).dropFirst(5)
        let time = iso.dropFirst(11).prefix(5)
        return long ? "\(date) \(time)" : String(time)
    }

    /// `String(format: "%.1f", v)` (every coordinate of a plot), without `String(format:)` where the tenth is not
    /// within a hair of a tie: the Gateway screen writes thousands of them.
    static func f(_ v: Double) -> String {
        let tenths = v * 10
        let rounded = tenths.rounded(.toNearestOrEven)
        guard abs(tenths) < 1e15, abs(abs(tenths - rounded) - 0.5) > 1e-6 else { return String(format: "%.1f", v) }
        let n = Int64(rounded).magnitude
        return (v.sign == .minus ? "-" : "") + String(n / 10) + "." + String(n % 10)
    }

    /// `values` (time, fraction 0…1) as a line plot in percent, with `reference` (a fraction) as a dashed line.
    static func line(
        id: String, title: String, yLabel: String, values: [(at: Double, value: Double)], reference: Double?,
        referenceLabel: String
    ) -> LinePlot {
        let (left, right, top, bottom) = (56.0, 606.0, 10.0, 200.0)
        guard let first = values.first?.at, let last = values.last?.at else {
            return LinePlot(
                id: id, title: title, xLabel: "time (UTC)", yLabel: yLabel, points: [], line: "", reference: nil,
                referenceLabel: nil, xTicks: [], yTicks: [], empty: true)
        }
        let span = max(last - first, 1)
        let low = max(0, (min(values.map(\.value).min() ?? 1, reference ?? 1) * 10).rounded(.down) / 10 - 0.1)
        let high = 1.0
        let x = { (t: Double) in left + (t - first) / span * (right - left) }
        let y = { (v: Double) in bottom - (v - low) / (high - low) * (bottom - top) }
        let points = values.map {
            Point(
                x: f(x($0.at)), y: f(y($0.value)),
                title: "\(clock($0.at, long: true)): \(String(format: "%.1f", $0.value * 100)) %")
        }
        let long = span > 86_400
        let xTicks = (0...4).map { i -> Tick in
            let t = first + span * Double(i) / 4
            return Tick(position: f(x(t)), label: clock(t, long: long))
        }
        let steps = Int(((high - low) * 10).rounded())
        let yTicks = (0...max(steps, 1)).map { i -> Tick in
            let v = low + Double(i) * (high - low) / Double(max(steps, 1))
            return Tick(position: f(y(v)), label: String(format: "%.0f", v * 100))
        }
        return LinePlot(
            id: id, title: title, xLabel: "window end (UTC)", yLabel: yLabel, points: points,
            line: points.map { "\($0.x),\($0.y)" }.joined(separator: " "), reference: reference.map { f(y($0)) },
            referenceLabel: reference.map { "\(referenceLabel) \(String(format: "%.1f", $0 * 100)) %" },
            xTicks: xTicks, yTicks: yTicks, empty: false)
    }

    struct Cell {
        let x: String
        let y: String
        let width: String
        let fill: String
        let drifted: Bool
        let title: String
    }

    struct Row {
        let y: String
        let label: String
    }

    /// Features × windows: each cell's colour is the drift score over its threshold (white → red), a drifted cell is
    /// outlined and crossed.
    struct HeatMap {
        let id: String
        let title: String
        let width: Int
        let height: Int
        /// Where the time labels go.
        let axisY: Int
        let rows: [Row]
        let cells: [Cell]
        let xTicks: [Tick]
        let empty: Bool
    }

    static func heatMap(
        id: String, title: String, features: [String],
        windows: [(at: Double, drift: [String: (score: Double, threshold: Double?, drifted: Bool)])]
    ) -> HeatMap {
        let left = 150.0
        let right = 630.0
        let rowHeight = 20.0
        let top = 4.0
        guard !features.isEmpty, !windows.isEmpty else {
            return HeatMap(
                id: id, title: title, width: 640, height: 40, axisY: 30, rows: [], cells: [], xTicks: [], empty: true)
        }
        let cellWidth = (right - left) / Double(windows.count)
        var cells: [Cell] = []
        for (r, feature) in features.enumerated() {
            for (c, window) in windows.enumerated() {
                guard let d = window.drift[feature] else { continue }
                let ratio = min(1, max(0, d.score / (d.threshold ?? 1)))
                let level = Int(255 - ratio * 200)
                cells.append(
                    Cell(
                        x: f(left + Double(c) * cellWidth), y: f(top + Double(r) * rowHeight), width: f(cellWidth),
                        fill: String(format: "#ff%02x%02x", level, level), drifted: d.drifted,
                        title:
                            "\(feature) at \(clock(window.at, long: true)): score \(String(format: "%.3f", d.score))"
                            + (d.threshold.map { " (threshold \(String(format: "%.3f", $0)))" } ?? "")
                            + (d.drifted ? ", drifted" : "")))
            }
        }
        let height = Int(top + Double(features.count) * rowHeight + 30)
        let first = windows.first!.at
        let last = windows.last!.at
        let long = last - first > 86_400
        let tickCount = min(4, windows.count - 1)
        let xTicks =
            tickCount == 0
            ? [Tick(position: f(left + cellWidth / 2), label: clock(first, long: long))]
            : (0...tickCount).map { i -> Tick in
                let c = Int((Double(windows.count - 1) * Double(i) / Double(tickCount)).rounded())
                return Tick(position: f(left + (Double(c) + 0.5) * cellWidth), label: clock(windows[c].at, long: long))
            }
        return HeatMap(
            id: id, title: title, width: 640, height: height, axisY: height - 10,
            rows: features.enumerated().map { Row(y: f(top + Double($0.offset) * rowHeight + 14), label: $0.element) },
            cells: cells, xTicks: xTicks, empty: false)
    }
}

extension DashboardPlots {
    /// Predicted probability against the observed occupied rate per calibration bin (both in percent), with the
    /// diagonal of perfect calibration; one mark per bin that has rows.
    struct Reliability {
        let id: String
        let title: String
        let points: [Point]
        let line: String
        let ticks: [Tick]
        /// The same ticks on the y axis (y runs down).
        let yTicks: [Tick]
        let empty: Bool
    }

    static func reliability(id: String, title: String, bins: [(mean: Double, observed: Double, count: Int)])
        -> Reliability
    {
        let (left, right, top, bottom) = (56.0, 336.0, 10.0, 290.0)
        let x = { (v: Double) in left + v * (right - left) }
        let y = { (v: Double) in bottom - v * (bottom - top) }
        let points = bins.map {
            Point(
                x: f(x($0.mean)), y: f(y($0.observed)),
                title: String(
                    format: "predicted %.1f %%, observed %.1f %% (%d rows)", $0.mean * 100, $0.observed * 100, $0.count)
            )
        }
        let values = stride(from: 0.0, through: 1.0, by: 0.2)
        return Reliability(
            id: id, title: title, points: points, line: points.map { "\($0.x),\($0.y)" }.joined(separator: " "),
            ticks: values.map { Tick(position: f(x($0)), label: String(format: "%.0f", $0 * 100)) },
            yTicks: values.map { Tick(position: f(y($0)), label: String(format: "%.0f", $0 * 100)) },
            empty: points.isEmpty)
    }
}
