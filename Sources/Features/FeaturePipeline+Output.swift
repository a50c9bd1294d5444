import OccupantCore

extension FeaturePipeline {
    /// Copies the current vector into `buffer` (which must hold at least `count` values) and returns how many
    /// features are missing (NaN). Does not allocate.
    @discardableResult
    public func write(into buffer: UnsafeMutableBufferPointer<Double>) -> Int {
        precondition(buffer.count >= count, "feature buffer holds \(buffer.count) values, the schema has \(count)")
        for i in values.indices { buffer[i] = values[i] }
        return missingCount
    }

    /// Calls `body` with the current vector, without copying it.
    public func withValues<R>(_ body: (UnsafeBufferPointer<Double>) throws -> R) rethrows -> R {
        try values.withUnsafeBufferPointer(body)
    }

    /// Whether the feature at `index` is missing (NaN) in the current vector.
    public func isMissing(_ index: Int) -> Bool { values[index].isNaN }

    /// Names of the features missing in the current vector (allocates; for stale reasons and diagnostics).
    public var missingFeatures: [String] {
        values.indices.filter { values[$0].isNaN }.map { names[$0] }
    }

    /// Names of the features outside their spec's range in the current vector (allocates; for diagnostics).
    public var outOfRangeFeatures: [String] {
        values.indices.filter { i in
            let v = values[i]
            let spec = schema.features[i]
            return (spec.minimum.map { v < $0 } ?? false) || (spec.maximum.map { v > $0 } ?? false)
        }.map { names[$0] }
    }
}

extension FeaturePipeline {
    /// The windows' internal state, for tests of memory bounds and rebuilds.
    var windowsForTesting: [WindowAggregate] { windows }
}
