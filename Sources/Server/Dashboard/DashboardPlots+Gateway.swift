import FleetProtocol
import Foundation
import OccupantCore

/// The Gateway screen's plots: the occupancy timeline (replayed probability and state, labels, shadow on one time
/// axis), the input channels on the same axis, estimated against realised accuracy. Every mark carries a `<title>`;
/// state is shape as well as colour (occupied: a full-height bar, vacant: a low one, not replayed: hatched).
extension DashboardPlots {
    struct Lane {
        let y: String
        let label: String
    }

    /// A rectangle mark; `kind` is its CSS class after `mark`.
    struct Bar {
        let kind: String
        let x: String
        let y: String
        let width: String
        let height: String
        let fill: String
        let outlined: Bool
        let title: String
        /// Text written inside the bar (a text channel's value, when the bar is wide enough).
        var caption: String? = nil
        var captionX = ""
    }

    struct Timeline {
        let id: String
        let title: String
        let height: Int
        let axisY: Int
        let tickY: Int
        let labelY: Int
        let lanes: [Lane]
        let bars: [Bar]
        /// The probability's min–max band (polygon points) and its mean (polyline points).
        let band: String
        let line: String
        let yTicks: [Tick]
        let xTicks: [Tick]
    }

    /// The time axis shared by the timeline and the channels: x from 120 to 610.
    struct TimeAxis {
        static let left = 120.0
        static let right = 610.0
        let from: Double
        let to: Double

        func x(_ t: Double) -> Double {
            Self.left + (min(max(t, from), to) - from) / max(to - from, 1) * (Self.right - Self.left)
        }

        var ticks: [Tick] {
            (0...6).map { i in
                let t = from + (to - from) * Double(i) / 6
                return Tick(position: f(x(t)), label: clock(t, long: to - from > 86_400))
            }
        }
    }

    static let occupiedFill = "#1f3b57"
    static let vacantFill = "#90a4ae"

    /// A state as a bar in a lane from `top` (22 high): occupied full height, vacant 6 high at the bottom, unknown
    /// hatched.
    static func stateBar(
        kind: String, axis: TimeAxis, from: Double, to: Double, occupied: Bool?, top: Double, fill: (Bool) -> String,
        outlined: Bool = false, title: String, hatch: String
    ) -> Bar {
        let x0 = axis.x(from)
        let width = max(axis.x(to) - x0, 0.5)
        let (y, height, colour): (Double, Double, String) =
            switch occupied {
            case true?: (top, 22, fill(true))
            case false?: (top + 16, 6, fill(false))
            case nil: (top, 22, "url(#\(hatch))")
            }
        return Bar(
            kind: kind, x: f(x0), y: f(y), width: f(width), height: f(height), fill: colour, outlined: outlined,
            title: title)
    }

    static func span(_ from: Double, _ to: Double) -> String {
        "\(clock(from, long: true))–\(clock(to, long: true))"
    }

    static func timeline(id: String, _ t: GatewayTimeline) -> Timeline {
        let axis = TimeAxis(from: t.from, to: t.to)
        let hatch = "\(id)-hatch"
        let (pTop, pBottom) = (10.0, 80.0)
        let y = { (v: Double) in pBottom - v * (pBottom - pTop) }
        var lanes = [Lane(y: "101", label: "state (replayed)"), Lane(y: "133", label: "labels")]
        var bars: [Bar] = []
        for s in t.states {
            let state =
                s.merged.map { "\($0) runs merged (the state changed within a pixel)" }
                ?? s.occupied.map { $0 ? "occupied" : "vacant" } ?? "not scored"
            bars.append(
                stateBar(
                    kind: "state", axis: axis, from: s.from, to: s.to, occupied: s.occupied, top: 90,
                    fill: { $0 ? occupiedFill : vacantFill },
                    title: "\(state) \(span(s.from, s.to)) (replayed with \(s.model.dropFirst(6)))", hatch: hatch))
        }
        for g in t.unreplayed {
            bars.append(
                stateBar(
                    kind: "gap", axis: axis, from: g.from, to: g.to, occupied: nil, top: 90, fill: { _ in "" },
                    title: "not replayed \(span(g.from, g.to)): \(g.reason)", hatch: hatch))
        }
        for l in t.labels {
            let what = l.correction ? "correction from Home Assistant" : "label"
            bars.append(
                stateBar(
                    kind: l.correction ? "correction" : "label", axis: axis, from: l.from, to: l.to,
                    occupied: l.occupied, top: 122, fill: { $0 ? "#2e7d32" : "#a5d6a7" }, outlined: l.correction,
                    title: "\(what): \(l.occupied ? "occupied" : "vacant") \(span(l.from, l.to)) (source \(l.source))",
                    hatch: hatch))
        }
        var bottom = 144.0
        if !t.shadow.isEmpty {
            lanes.append(Lane(y: "165", label: "shadow"))
            for r in t.shadow {
                let state = r.shadow.map { $0 ? "occupied" : "vacant" } ?? "no decision"
                let active = r.active.map { $0 ? "occupied" : "vacant" } ?? "no decision"
                bars.append(
                    stateBar(
                        kind: "shadow", axis: axis, from: r.from, to: r.to, occupied: r.shadow, top: 154,
                        fill: { $0 ? "#6a1b9a" : "#ce93d8" },
                        title: "shadow \(state), active model \(active), \(span(r.from, r.to)) (\(r.n) samples)",
                        hatch: hatch))
            }
            bottom = 176
        }
        if !t.overrides.isEmpty {
            // A lane below the others: a person's override forced what was published (the replay cannot see it).
            let top = bottom + 10
            lanes.append(Lane(y: f(top + 11), label: "override"))
            for o in t.overrides {
                bars.append(
                    stateBar(
                        kind: "override", axis: axis, from: o.from, to: o.to, occupied: o.occupied, top: top,
                        fill: { $0 ? "#e65100" : "#ffcc80" }, outlined: true,
                        title: "override: published \(o.occupied ? "occupied" : "vacant") \(span(o.from, o.to))",
                        hatch: hatch))
            }
            bottom = top + 22
        }
        let mid = { (b: GatewayTimeline.Bucket) in f(axis.x((b.from + b.to) / 2)) }
        let upper = t.probability.map { "\(mid($0)),\(f(y($0.max)))" }
        let lower = t.probability.reversed().map { "\(mid($0)),\(f(y($0.min)))" }
        let axisY = Int(bottom) + 6
        return Timeline(
            id: id, title: "Occupancy of \(t.gateway), \(span(t.from, t.to)) UTC", height: axisY + 40, axisY: axisY,
            tickY: axisY + 14, labelY: axisY + 32, lanes: lanes, bars: bars,
            band: (upper + lower).joined(separator: " "),
            line: t.probability.map { "\(mid($0)),\(f(y($0.mean)))" }.joined(separator: " "),
            yTicks: [0.0, 0.5, 1.0].map { Tick(position: f(y($0)), label: String(format: "%.0f %%", $0 * 100)) },
            xTicks: axis.ticks)
    }

    /// One input channel: its buckets' min–max band and mean line (numbers), or its values as bars (text).
    struct ChannelPlot {
        let id: String
        let name: String
        let points: Int
        let band: String
        let line: String
        let bars: [Bar]
        let yTicks: [Tick]
        let xTicks: [Tick]
        let rows: Int
        let text: Bool
        /// A text channel's values with their colours (the legend: colour is not the only carrier).
        let values: [Swatch]
    }

    struct Swatch {
        let name: String
        let colour: String
    }

    static func channel(id: String, _ c: GatewayTimeline.Channel, from: Double, to: Double) -> ChannelPlot {
        let axis = TimeAxis(from: from, to: to)
        let (top, bottom) = (8.0, 70.0)
        var low = c.buckets.map(\.min).min() ?? 0
        var high = c.buckets.map(\.max).max() ?? 1
        if high - low < 1e-9 {
            low -= 1
            high += 1
        }
        let y = { (v: Double) in bottom - (v - low) / (high - low) * (bottom - top) }
        let mid = { (b: GatewayTimeline.Bucket) in f(axis.x((b.from + b.to) / 2)) }
        let palette = ["#1f3b57", "#c62828", "#2e7d32", "#6a1b9a", "#ef6c00", "#00838f"]
        var bars: [Bar] = []
        var index: [String: Int] = [:]
        for (i, change) in c.changes.enumerated() {
            let end = i + 1 < c.changes.count ? c.changes[i + 1].at : to
            let colour = palette[index[change.value, default: index.count] % palette.count]
            if index[change.value] == nil { index[change.value] = index.count }
            let width = max(axis.x(end) - axis.x(change.at), 0.5)
            // Colour is not the only carrier: a bar wide enough says its value.
            let fits = Double(change.value.count) * 6 + 6 < width
            bars.append(
                Bar(
                    kind: "value", x: f(axis.x(change.at)), y: f(top + 20), width: f(width), height: "22",
                    fill: colour, outlined: false,
                    title: "\(c.name) = \(change.value) from \(clock(change.at, long: true))",
                    caption: fits ? change.value : nil, captionX: f(axis.x(change.at) + 3)))
        }
        return ChannelPlot(
            id: id, name: c.name, points: c.buckets.count,
            band: (c.buckets.map { "\(mid($0)),\(f(y($0.max)))" }
                + c.buckets.reversed().map { "\(mid($0)),\(f(y($0.min)))" }).joined(separator: " "),
            line: c.buckets.map { "\(mid($0)),\(f(y($0.mean)))" }.joined(separator: " "), bars: bars,
            yTicks: c.buckets.isEmpty
                ? []
                : [Tick(position: f(y(low)), label: number(low)), Tick(position: f(y(high)), label: number(high))],
            xTicks: axis.ticks, rows: c.rows, text: c.buckets.isEmpty,
            values: index.sorted { $0.value < $1.value }.map {
                Swatch(name: $0.key, colour: palette[$0.value % palette.count])
            })
    }

    static func number(_ v: Double) -> String { String(format: "%.4g", v) }

    /// Estimated and realised accuracy per monitor window, in percent, with the bundle's own accuracy dashed.
    struct AccuracyPlot {
        let id: String
        let title: String
        let estimated: [Point]
        let estimatedLine: String
        let realised: [Point]
        let realisedLine: String
        let reference: String?
        let referenceLabel: String?
        let xTicks: [Tick]
        let yTicks: [Tick]
        let empty: Bool
    }

    static func accuracy(id: String, title: String, _ windows: [GatewayTimeline.Accuracy], reference: Double?)
        -> AccuracyPlot
    {
        let (left, right, top, bottom) = (56.0, 606.0, 10.0, 200.0)
        let values = windows.flatMap { [$0.estimated, $0.realised].compactMap { $0 } }
        guard let first = windows.first?.to, let last = windows.last?.to, !values.isEmpty else {
            return AccuracyPlot(
                id: id, title: title, estimated: [], estimatedLine: "", realised: [], realisedLine: "",
                reference: nil, referenceLabel: nil, xTicks: [], yTicks: [], empty: true)
        }
        let span = max(last - first, 1)
        let low = max(0, (min(values.min() ?? 1, reference ?? 1) * 10).rounded(.down) / 10 - 0.1)
        let x = { (t: Double) in left + (t - first) / span * (right - left) }
        let y = { (v: Double) in bottom - (v - low) / (1 - low) * (bottom - top) }
        let estimated = windows.compactMap { w in
            w.estimated.map {
                Point(x: f(x(w.to)), y: f(y($0)), title: "\(clock(w.to, long: true)): estimated \(percent($0))")
            }
        }
        let realised = windows.compactMap { w in
            w.realised.map {
                Point(
                    x: f(x(w.to)), y: f(y($0)),
                    title: "\(clock(w.to, long: true)): realised \(percent($0)) on \(w.realisedRows ?? 0) labelled rows"
                )
            }
        }
        let steps = max(Int(((1 - low) * 10).rounded()), 1)
        return AccuracyPlot(
            id: id, title: title, estimated: estimated,
            estimatedLine: estimated.map { "\($0.x),\($0.y)" }.joined(separator: " "), realised: realised,
            realisedLine: realised.map { "\($0.x),\($0.y)" }.joined(separator: " "),
            reference: reference.map { f(y($0)) },
            referenceLabel: reference.map { "the bundle's out-of-fold accuracy \(percent($0))" },
            xTicks: (0...4).map { i in
                let t = first + span * Double(i) / 4
                return Tick(position: f(x(t)), label: clock(t, long: span > 86_400))
            },
            yTicks: (0...steps).map { i in
                let v = low + Double(i) * (1 - low) / Double(steps)
                return Tick(position: f(y(v)), label: String(format: "%.0f", v * 100))
            }, empty: false)
    }

    static func percent(_ v: Double) -> String { String(format: "%.1f %%", v * 100) }
}
