import OccupantCore

@testable import Features

/// A deterministic generator so every random stream is reproducible from its seed.
typealias SeededGenerator = SplitMix64

/// One recorded row: time and channel values (nil = unavailable).
typealias Row = (Instant, [String: ChannelValue?])

/// A stream like the thermostat's: sound (noisy level), temperature (slow drift), hvac (categorical), with
/// unavailable readings, NaN numbers, repeated timestamps and gaps.
func recordedStream(seed: UInt64, count: Int, start: Double = 1_780_000_000) -> [Row] {
    var rng = SeededGenerator(seed: seed)
    var t = start
    var temperature = 21.0
    var hvac = "STANDBY"
    var rows: [Row] = []
    rows.reserveCapacity(count)
    for _ in 0..<count {
        let r = Double.random(in: 0..<1, using: &rng)
        if r < 0.01 {
            t += 0
        } else if r < 0.03 {
            t += Double.random(in: 20..<200, using: &rng)
        } else {
            t += Double.random(in: 0.1...1, using: &rng)
        }
        temperature += Double.random(in: -0.02...0.02, using: &rng)
        if Double.random(in: 0..<1, using: &rng) < 0.01 {
            hvac = ["HEATING", "COOLING", "STANDBY", "FAN"].randomElement(using: &rng) ?? "STANDBY"
        }
        var values: [String: ChannelValue?] = [:]
        let u = Double.random(in: 0..<1, using: &rng)
        if u < 0.08 {
            values["sound"] = .some(nil)
        } else if u < 0.09 {
            values["sound"] = .number(.nan)
        } else if u > 0.98 {
            // absent from the row entirely
        } else {
            values["sound"] = .number((Double.random(in: 0...255, using: &rng)).rounded())
        }
        values["temperature"] = Double.random(in: 0..<1, using: &rng) < 0.05 ? .some(nil) : .number(temperature)
        values["hvac"] = Double.random(in: 0..<1, using: &rng) < 0.05 ? .some(nil) : .category(hvac)
        rows.append((Instant(seconds: t), values))
    }
    return rows
}

/// The same rows as gateway samples.
func samples(_ rows: [Row]) -> [Sample] {
    rows.map { time, values in
        Sample(
            at: time,
            readings: values.keys.sorted().map { name in
                let value = values[name] ?? nil
                return Reading(channel: name, value: value, unavailable: value == nil ? "no acknowledge" : nil)
            })
    }
}

/// Straightforward recomputation of every feature from the history, used as the truth: each window is re-scanned
/// from scratch at every row (O(samples in window) per feature per row).
struct ReferenceFeatures {
    let schema: FeatureSchema
    let limits: FeaturePipeline.Limits

    typealias Point = (t: Double, v: Double)
    typealias Seen = (t: Double, v: ChannelValue)

    /// Feature rows, plus for each value the scale of the data it came from (for relative tolerances).
    func rows(_ rows: [Row]) -> [[(value: Double, scale: Double)]] {
        var numbers: [String: [Point]] = [:]
        var changes: [String: (last: Seen?, changedAt: Double)] = [:]
        var out: [[(value: Double, scale: Double)]] = []
        for (time, values) in rows {
            let now = time.seconds
            for channel in schema.channels {
                guard let value = values[channel] ?? nil else { continue }
                if case .number(let v) = value {
                    guard v.isFinite else { continue }
                    numbers[channel, default: []].append((now, v))
                }
                var state = changes[channel] ?? (nil, -.infinity)
                if let last = state.last, last.v != value { state.changedAt = now }
                state.last = (now, value)
                changes[channel] = state
            }
            out.append(
                schema.features.map { spec in
                    let channel = spec.channel ?? ""
                    return feature(spec: spec, numbers: numbers[channel] ?? [], change: changes[channel], now: now)
                })
        }
        return out
    }

    private func feature(
        spec: FeatureSpec, numbers: [Point], change: (last: Seen?, changedAt: Double)?, now: Double
    ) -> (value: Double, scale: Double) {
        switch spec.transform {
        case .raw:
            guard let last = numbers.last, last.t > now - (spec.window ?? limits.staleness) else { return (.nan, 0) }
            return (last.v, abs(last.v))
        case .mean, .max, .min, .std, .delta, .slope:
            let w = spec.window ?? 0
            var points: [Point] = []
            for p in numbers.reversed() {
                guard p.t > now - w else { break }
                points.append(p)
            }
            return windowed(spec.transform, points.reversed())
        case .oneHot:
            guard let last = change?.last, last.t > now - (spec.window ?? limits.staleness) else { return (.nan, 0) }
            let category = spec.category ?? ""
            let hit: Bool
            switch last.v {
            case .category(let c): hit = c == category
            case .number(let v): hit = Double(category) == v
            }
            return (hit ? 1 : 0, 1)
        case .sinceChange:
            guard let change, let last = change.last, last.t > now - limits.staleness else { return (.nan, 0) }
            return (min(now - change.changedAt, spec.window ?? limits.sinceChangeCap), 1)
        case .timeOfDaySin, .timeOfDayCos, .dayOfWeek:
            return (.nan, 0) // checked separately at known instants
        }
    }

    private func windowed(_ transform: FeatureSpec.Transform, _ points: [(t: Double, v: Double)]) -> (
        value: Double, scale: Double
    ) {
        guard !points.isEmpty else { return (.nan, 0) }
        let n = Double(points.count)
        let hi = points.map(\.v).max() ?? .nan
        let lo = points.map(\.v).min() ?? .nan
        let magnitude = max(abs(hi), abs(lo))
        let mean = points.map(\.v).reduce(0, +) / n
        switch transform {
        case .mean: return (mean, magnitude)
        case .max: return (hi, magnitude)
        case .min: return (lo, magnitude)
        case .std:
            let variance = points.map { ($0.v - mean) * ($0.v - mean) }.reduce(0, +) / n
            return (variance.squareRoot(), hi - lo)
        case .delta:
            guard points.count >= 2, let first = points.first, let last = points.last else { return (.nan, 0) }
            return (last.v - first.v, hi - lo)
        case .slope:
            guard points.count >= 2, let first = points.first, let last = points.last, last.t > first.t else {
                return (.nan, 0)
            }
            let meanT = points.map { $0.t - first.t }.reduce(0, +) / n
            var sxy = 0.0
            var sxx = 0.0
            for p in points {
                let dt = p.t - first.t - meanT
                sxy += dt * (p.v - mean)
                sxx += dt * dt
            }
            return (sxy / sxx, (hi - lo) / (last.t - first.t))
        default:
            return (.nan, 0)
        }
    }
}

/// Whether `actual` matches the reference within 1e-9 of the data's own scale (NaN must match NaN).
func close(_ actual: Double, _ expected: (value: Double, scale: Double), tolerance: Double = 1e-9) -> Bool {
    if expected.value.isNaN || actual.isNaN { return expected.value.isNaN && actual.isNaN }
    return abs(actual - expected.value) <= tolerance * max(abs(expected.value), expected.scale, 1e-12)
}
