import Foundation

/// SplitMix64: a small, fast, seedable generator, so every fit and search is reproducible for a seed.
public struct TrainingRandom: RandomNumberGenerator, Sendable {
    private var state: UInt64

    public init(seed: UInt64) { state = seed }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    public mutating func unit() -> Double { Double(next() >> 11) * 0x1p-53 }

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
        var g = TrainingRandom(seed: state ^ (salt &* 0xD6E8_FEB8_6659_FD93))
        _ = g.next()
        return g
    }
}

extension Double {
    fileprivate func log() -> Double { Foundation.log(self) }
    fileprivate func exp() -> Double { Foundation.exp(self) }
}
