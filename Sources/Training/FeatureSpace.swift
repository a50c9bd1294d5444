import Features
import OccupantCore

/// Every candidate feature of a table, computed once with `BatchFeatures` (the gateway's own pipeline) and binned
/// once; a trial picks a subset of groups, i.e. a subset of columns.
public struct FeatureSpace: Sendable {
    /// The candidate groups, in schema order.
    public let groups: [FeatureGroup]
    /// The schema of all groups.
    public let schema: FeatureSchema
    /// `columns[f][r]`: feature `f` of row `r`.
    public let columns: [[Double]]
    public let matrix: BinnedMatrix
    /// Per column, the direction a monotone tree model keeps (`BoostingParameters.monotone`): for the level of a
    /// numeric channel (its latest value, window mean, min or max), the sign of its correlation with the labels
    /// (when |r| ≥ 0.1); 0 for every other feature. Activity signals — light, sound, CO₂ — rise with occupancy;
    /// a tree left free learns the training week's accidents instead (a sunny, empty Saturday teaches it that a
    /// very bright room is empty).
    public let monotone: [Int8]

    /// The default groups for a table: `raw` (numeric channels), `levels` and `trends` of numeric channels (windows
    /// scaled to the sampling interval), `context:<channel>` per categorical channel, `time`.
    public static func defaultGroups(for table: LabelledTable) -> [FeatureGroup] {
        let numeric = table.numericChannels
        let step = table.medianInterval
        var groups: [FeatureGroup] = []
        if !numeric.isEmpty {
            groups.append(.raw(channels: numeric))
            let short = min(FeaturePipeline.maximumWindow, max(10, (5 * step).rounded()))
            let long = min(FeaturePipeline.maximumWindow, max(60, (30 * step).rounded()))
            groups.append(.levels(channels: numeric, windows: [short, long]))
            groups.append(
                .trends(
                    channels: numeric, windows: [min(FeaturePipeline.maximumWindow, max(600, (10 * step).rounded()))]))
        }
        let rows = table.featureRows
        for channel in table.channels where table.categoricalChannels.contains(channel) {
            groups.append(.categorical(channel: channel, categories: FeatureGroup.categories(of: channel, in: rows)))
        }
        groups.append(.time(dayOfWeek: true))
        return groups
    }

    /// Keeps the groups named in `names` (`raw`, `levels`, `trends`, `context` or `context:<channel>`, `time`).
    public static func select(_ groups: [FeatureGroup], names: [String]) throws(OccupantError) -> [FeatureGroup] {
        for name in names
        where !groups.contains(where: { $0.name == name || (name == "context" && $0.name.hasPrefix("context:")) }) {
            throw OccupantError(
                .usage,
                "--features: no group '\(name)' for this data (available: \(groups.map(\.name).joined(separator: ", ")))"
            )
        }
        return groups.filter { g in
            names.contains(g.name) || (names.contains("context") && g.name.hasPrefix("context:"))
        }
    }

    public init(table: LabelledTable, groups: [FeatureGroup]) throws(OccupantError) {
        precondition(!groups.isEmpty, "at least one feature group")
        self.groups = groups
        schema = FeatureSchema.grouped(groups)
        let rows = try table.features(schema: schema)
        let width = schema.features.count
        var columns = [[Double]](repeating: [Double](repeating: .nan, count: rows.count), count: width)
        for (r, row) in rows.enumerated() {
            for f in 0..<width { columns[f][r] = row[f] }
        }
        self.columns = columns
        matrix = BinnedMatrix(columns: columns)
        let levels: Set<FeatureSpec.Transform> = [.raw, .mean, .min, .max]
        let features = schema.features
        monotone = features.indices.map { f -> Int8 in
            guard levels.contains(features[f].transform), features[f].channel != nil else { return 0 }
            let r = FeatureSpace.correlation(columns[f], table.labels)
            return abs(r) < 0.1 ? 0 : (r > 0 ? 1 : -1)
        }
    }

    /// Pearson correlation of `x` with the 0/1 labels over the labelled rows where `x` is a number (0 when
    /// undefined).
    static func correlation(_ x: [Double], _ labels: [UInt8?]) -> Double {
        var n = 0.0
        var sx = 0.0
        var sy = 0.0
        var sxx = 0.0
        var syy = 0.0
        var sxy = 0.0
        for (v, label) in zip(x, labels) {
            guard let label, !v.isNaN else { continue }
            let y = Double(label)
            n += 1
            sx += v
            sy += y
            sxx += v * v
            syy += y * y
            sxy += v * y
        }
        guard n > 1 else { return 0 }
        let cov = sxy - sx * sy / n
        let vx = sxx - sx * sx / n
        let vy = syy - sy * sy / n
        guard vx > 0, vy > 0 else { return 0 }
        return cov / (vx * vy).squareRoot()
    }

    /// The groups with these names, in schema order.
    public func groups(named names: [String]) -> [FeatureGroup] { groups.filter { names.contains($0.name) } }

    /// The schema of a subset of groups (as the bundle will carry it) and the matching column indices; with
    /// `channels`, only the features that read one of those channels, or none (time of day).
    public func subset(_ names: [String], channels: [String]? = nil) -> (schema: FeatureSchema, columns: [Int]) {
        var chosen = FeatureSchema.grouped(groups(named: names))
        if let channels {
            chosen.features = chosen.features.filter { spec in spec.channel.map { channels.contains($0) } ?? true }
        }
        let all = schema.names
        return (chosen, chosen.names.map { all.firstIndex(of: $0)! })
    }

    /// The schema and columns a trial reads.
    public func subset(_ config: TrialConfig) -> (schema: FeatureSchema, columns: [Int]) {
        subset(config.groups, channels: config.channels)
    }
}
