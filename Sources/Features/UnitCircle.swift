/// Sine and cosine of a fraction of a turn, computed with only `+`, `-`, `*` and exact reductions so the result is
/// bit-identical on every platform (no dependence on the C library's `sin`/`cos`). Accurate to about 1 ulp.
enum UnitCircle {
    /// `(sin, cos)` of `turns * 2π`, for `turns` in [0, 1].
    static func sinCos(turns: Double) -> (sin: Double, cos: Double) {
        // Nearest quarter turn q, remainder r in [-1/2, 1/2] quarter turns; both steps are exact.
        let quarters = turns * 4
        let q = quarters.rounded(.toNearestOrEven)
        let x = (quarters - q) * (Double.pi / 2)
        let s = sinTaylor(x)
        let c = cosTaylor(x)
        // Adding 0 turns a -0 into +0.
        switch Int(q) & 3 {
        case 0: return (s + 0, c + 0)
        case 1: return (c + 0, -s + 0)
        case 2: return (-s + 0, -c + 0)
        default: return (-c + 0, s + 0)
        }
    }

    /// Taylor series to x^17 on [-π/4, π/4]; the first omitted term is below 1e-19.
    private static func sinTaylor(_ x: Double) -> Double {
        let x2 = x * x
        var p = -1.0 / 355_687_428_096_000
        p = p * x2 + 1.0 / 1_307_674_368_000
        p = p * x2 - 1.0 / 6_227_020_800
        p = p * x2 + 1.0 / 39_916_800
        p = p * x2 - 1.0 / 362_880
        p = p * x2 + 1.0 / 5040
        p = p * x2 - 1.0 / 120
        p = p * x2 + 1.0 / 6
        return x - x * x2 * p
    }

    /// Taylor series to x^16 on [-π/4, π/4]; the first omitted term is below 3e-18.
    private static func cosTaylor(_ x: Double) -> Double {
        let x2 = x * x
        var p = 1.0 / 20_922_789_888_000
        p = p * x2 - 1.0 / 87_178_291_200
        p = p * x2 + 1.0 / 479_001_600
        p = p * x2 - 1.0 / 3_628_800
        p = p * x2 + 1.0 / 40320
        p = p * x2 - 1.0 / 720
        p = p * x2 + 1.0 / 24
        p = p * x2 - 1.0 / 2
        return 1 + x2 * p
    }
}
