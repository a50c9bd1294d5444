import OccupantCore

/// Feature rows for a whole table, computed by replaying `FeaturePipeline` row by row — the same code, in the same
/// order, as the gateway — so training rows are bit-identical to what the gateway would compute live.
public enum BatchFeatures {
    /// One feature vector per input row: the vector after that row's update. Rows should be in time order; a row
    /// earlier than its predecessor resets the pipeline, exactly as it would on the gateway.
    public static func rows(
        schema: FeatureSchema, rows: some Sequence<(Instant, [String: ChannelValue?])>,
        limits: FeaturePipeline.Limits = .standard
    ) throws(OccupantError) -> [[Double]] {
        var pipeline = try FeaturePipeline(schema: schema, limits: limits)
        var out: [[Double]] = []
        out.reserveCapacity(rows.underestimatedCount)
        for (time, values) in rows {
            pipeline.update(at: time, values: values)
            out.append(pipeline.values)
        }
        return out
    }

    /// One feature vector per sample, as the gateway's `update(_:)` path computes them.
    public static func rows(
        schema: FeatureSchema, samples: some Sequence<Sample>, limits: FeaturePipeline.Limits = .standard
    ) throws(OccupantError) -> [[Double]] {
        var pipeline = try FeaturePipeline(schema: schema, limits: limits)
        var out: [[Double]] = []
        out.reserveCapacity(samples.underestimatedCount)
        for sample in samples {
            pipeline.update(sample)
            out.append(pipeline.values)
        }
        return out
    }

    /// Replays `rows` (time plus a lookup of each channel's value) and hands each row's vector to `body` without
    /// keeping it: for tables too large to hold as `[[Double]]`. `body` gets the row's index and the vector.
    public static func replay<Rows: Sequence>(
        schema: FeatureSchema, rows: Rows, limits: FeaturePipeline.Limits = .standard,
        time: (Rows.Element) -> Instant, value: (Rows.Element, String) -> ChannelValue?,
        body: (Int, UnsafeBufferPointer<Double>) -> Void
    ) throws(OccupantError) {
        var pipeline = try FeaturePipeline(schema: schema, limits: limits)
        for (index, row) in rows.enumerated() {
            pipeline.update(at: time(row)) { name in value(row, name) }
            pipeline.withValues { body(index, $0) }
        }
    }
}
