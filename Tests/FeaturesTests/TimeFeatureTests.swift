import Foundation
import OccupantCore
import Testing

@testable import Features

#if canImport(Glibc)
    import Glibc
#endif

@Suite("Time features")
struct TimeFeatureTests {
    let schema = FeatureSchema.grouped([.time()])

    struct Case: Sendable, CustomStringConvertible {
        var iso: String
        var sin: Double
        var cos: Double
        var dow: Double
        var description: String { iso }
    }

    @Test(
        "known instants",
        arguments: [
            Case(iso: "2026-11-23T00:00:00Z", sin: 0, cos: 1, dow: 0), // a Monday
            Case(iso: "2026-11-24T06:00:00Z", sin: 1, cos: 0, dow: 1),
            Case(iso: "2026-11-25T12:00:00Z", sin: 0, cos: -1, dow: 2),
            Case(iso: "2026-11-29T18:00:00Z", sin: -1, cos: 0, dow: 6), // Sunday
            Case(iso: "1970-01-01T03:00:00Z", sin: 0.5.squareRoot(), cos: 0.5.squareRoot(), dow: 3),
            Case(iso: "2026-11-28T04:00:00Z", sin: 0.75.squareRoot(), cos: 0.5, dow: 5),
        ])
    func knownInstants(_ c: Case) throws {
        let at = try #require(Instant(iso8601: c.iso))
        var p = try FeaturePipeline(schema: schema)
        p.update(at: at, values: [:])
        #expect(p.names == ["tod_sin", "tod_cos", "dow"])
        #expect(abs(p.values[0] - c.sin) <= 4e-16)
        #expect(abs(p.values[1] - c.cos) <= 4e-16)
        #expect(p.values[2] == c.dow)
        #expect(p.missingCount == 0)
    }

    @Test("the portable sine and cosine agree with the C library to about an ulp")
    func againstLibm() {
        var rng = SeededGenerator(seed: 5)
        var worst = 0.0
        for i in 0...100_000 {
            let turns = i < 86_400 ? Double(i) / 86_400 : Double.random(in: 0..<1, using: &rng)
            let (s, c) = UnitCircle.sinCos(turns: turns)
            #if arch(x86_64) && canImport(Glibc)
                // Extended precision, so the reference's own rounding of 2π·turns does not dominate.
                let angle = Float80(turns) * 2 * Float80.pi
                let (rs, rc) = (Double(Glibc.sinl(angle)), Double(Glibc.cosl(angle)))
                let tolerance = 2.3e-16
            #else
                let (rs, rc) = (Foundation.sin(2 * Double.pi * turns), Foundation.cos(2 * Double.pi * turns))
                let tolerance = 1e-15
            #endif
            worst = max(worst, abs(s - rs) / tolerance, abs(c - rc) / tolerance)
        }
        #expect(worst <= 1)
    }
}
