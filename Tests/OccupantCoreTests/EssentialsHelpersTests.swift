import Foundation
import OccupantCore
import Testing

/// The helpers that replace full-Foundation calls in the gateway's targets write exactly what Foundation wrote.
@Suite struct EssentialsHelpersTests {
    @Test(arguments: [
        "%g", "%.4g", "platt(a %.4g, b %.4g)", "%.3f s", "%d windows",
    ])
    func cFormatWritesWhatStringFormatWrites(format: String) {
        for x in [0, -0.0, 1, 3600, 0.123456789, 1.0 / 3, 1e21, 1e-7, -2.5, 12345678.9, .nan, .infinity, -.infinity] {
            if format.contains("%d") {
                let n = x.isFinite && abs(x) < 1e9 ? Int(x) : 0
                #expect(String(cFormat: format, n) == String(format: format, n))
            } else if format.contains("b %") {
                #expect(String(cFormat: format, x, -x) == String(format: format, x, -x))
            } else {
                #expect(String(cFormat: format, x) == String(format: format, x))
            }
        }
        let long = String(repeating: "x", count: 300) + "%g"
        #expect(String(cFormat: long, 1.5) == String(format: long, 1.5))
    }

    @Test func trimmingMatchesFoundationForEveryScalarUpToCJK() {
        var differences: [String] = []
        for value in UInt32(0)..<0x3100 {
            guard let scalar = Unicode.Scalar(value) else { continue }
            let text = "\(Character(scalar))a b\(Character(scalar))"
            if text.trimmingWhitespace() != text.trimmingCharacters(in: .whitespaces) {
                differences.append("whitespaces U+\(String(value, radix: 16))")
            }
            if text.trimmingWhitespaceAndNewlines() != text.trimmingCharacters(in: .whitespacesAndNewlines) {
                differences.append("whitespacesAndNewlines U+\(String(value, radix: 16))")
            }
        }
        #expect(differences == [])
        #expect(" \t \n".trimmingWhitespaceAndNewlines() == "")
        #expect(" x ".trimmingWhitespace() == "x")
        #expect("a, b ".split(separator: ",").map { $0.trimmingWhitespace() } == ["a", "b"])
    }

    @Test func aDetachedThreadRunsAndAConditionWakesTheWaiter() {
        let condition = ThreadCondition()
        nonisolated(unsafe) var done = false
        detachThread {
            condition.lock()
            done = true
            condition.broadcast()
            condition.unlock()
        }
        condition.lock()
        while !done { condition.wait() }
        condition.unlock()
        #expect(done)
    }
}
