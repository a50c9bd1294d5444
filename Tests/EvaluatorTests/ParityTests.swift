import Evaluator
import Foundation
import OccupantTesting
import Testing

@Suite("Parity with the source libraries", .ownThread)
struct ParityTests {
    @Test("imported model reproduces the library's probabilities within 1e-6", arguments: Fixtures.allCases)
    func parity(name: String) throws {
        let imported = try Fixtures.importModel(name)
        let table = try Fixtures.inputs(name)
        let expected = try Fixtures.expected(name)
        #expect(table.columns == imported.featureNames)
        #expect(table.rows.count == expected.count)
        let ours = imported.model.probabilities(rows: table.rows)
        var worst = 0.0
        var worstRow = 0
        for (row, (a, b)) in zip(ours, expected).enumerated() where abs(a - b) > worst || a.isNaN {
            worst = a.isNaN ? .infinity : abs(a - b)
            worstRow = row
        }
        print(
            "parity \(name): \(expected.count) rows, max |ours - expected| = \(worst) (row \(worstRow + 2) of the CSV)")
        #expect(worst <= 1e-6, "\(name): max abs error \(worst) at CSV line \(worstRow + 2)")
    }
}
