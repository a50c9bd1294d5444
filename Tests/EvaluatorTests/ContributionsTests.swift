import Evaluator
import OccupantTesting
import Testing

/// Per-input contributions sum to the evaluator's own margin on every reference model (so the path walk takes the
/// same turns as prediction, missing values and categorical splits included).
@Suite(.ownThread) struct ContributionsTests {
    @Test(arguments: Fixtures.allCases)
    func contributionsSumToTheMargin(_ name: String) throws {
        let model = try Fixtures.importModel(name).model
        let rows = try Fixtures.inputs(name).rows.prefix(64)
        #expect(!rows.isEmpty)
        for row in rows {
            let c = model.contributions(row)
            let margin = model.margin(row)
            #expect(c.values.count == model.featureCount)
            if margin.isNaN { continue } // a logistic model with a missing input has no margin
            // XGBoost sums in Float32: allow its rounding.
            #expect(abs(c.margin - margin) <= 1e-4 * max(1, abs(margin)), "\(name): \(c.margin) vs \(margin)")
        }
    }

    @Test func logisticContributionsAreCoefficientTimesValue() throws {
        let model = Model.logistic(try LogisticModel(validatingCoefficients: [2, -0.5, 0.1], intercept: -1))
        let c = model.contributions([1, 8, 3])
        #expect(c.bias == -1 && c.values == [2, -4, 0.30000000000000004])
        // Largest magnitude first.
        #expect(c.top(2) == [1, 0])
        #expect(c.top(3) == [1, 0, 2])
    }

    @Test func saabasOnOneStump() throws {
        // One split on x0 < 0.5: left leaf -1, right leaf 3. Root expectation 1; going right adds 2.
        let stump = try TreeEnsemble(
            validating: .native, featureCount: 2, baseMargin: 0.25, treeStart: [0], splitFeature: [0, -1, -1],
            value: [0.5, -1, 3], left: [1, -1, -1], right: [2, -1, -1], flags: [0, 0, 0])
        let c = Model.trees(stump).contributions([0.9, 7])
        #expect(c.bias == 1.25 && c.values == [2, 0])
        #expect(c.top(3) == [0]) // an input the row never reached is not named
        #expect(Model.trees(stump).contributions([0.1, 7]).values == [-2, 0])
    }
}
