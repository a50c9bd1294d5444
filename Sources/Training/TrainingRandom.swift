import Foundation
import OccupantCore

/// The trainer's seeded generator (OccupantCore's SplitMix64), so every fit and search is reproducible for a seed.
public struct TrainingRandom: RandomNumberGenerator, Sendable {
    private var core: SplitMix64

    public init(seed: UInt64) { core = SplitMix64(seed: seed) }

    public mutating func next() -> UInt64 { core.next() }

    /// Uniform in [0, 1).
    public mutating func unit() -> Double { core.nextDouble() }

    /// Uniform in [low, high).
    public mutating func uniform(_ low: Double, _ high: Double) -> Double { low + unit() * (high - low) }

    /// Log-uniform in [low, high).
    public mutating func logUniform(_ low: Double, _ high: Double) -> Double {
        (low.log() + unit() * (high.log() - low.log())).exp()
    }

    /// Uniform integer in low...high.
    public mutating func integer(_ low: Int, _ high: Int) -> Int { Int.random(in: low...high, using: &self) }

    /// A generator for a sub-task, independent of this one's later draws.
    public func derived(_ salt: UInt64) -> TrainingRandom {
        var g = TrainingRandom(seed: core.state ^ (salt &* 0xD6E8_FEB8_6659_FD93))
        _ = g.next()
        return g
    }
}

extension Double {
    fileprivate func log() -> Double { Foundation.log(self) }
    fileprivate func exp() -> Double { Foundation.exp(self) }
}
