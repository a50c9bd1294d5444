import Evaluator
import Foundation
import OccupantCore
import Testing

/// Imports edited fixture text; returns the error message (one line), or nil if it imported.
private func importError(_ kind: String, _ text: String) -> String? {
    let data = Data(text.utf8)
    do {
        switch kind {
        case "xgb": _ = try XGBoostImporter.parse(data, name: "edited.json")
        case "lgb": _ = try LightGBMImporter.parse(data, name: "edited.txt")
        default: _ = try LogisticImporter.parse(data, name: "edited.json")
        }
        return nil
    } catch {
        #expect(error.code == .model)
        #expect(!error.description.contains("\n"), "\(error)")
        return error.description
    }
}

private func edited(_ file: String, _ from: String, _ to: String) throws -> String {
    let text = try Fixtures.text(file)
    #expect(text.contains(from), "\(file) has no \(from)")
    return text.replacingOccurrences(of: from, with: to)
}

@Suite("Malformed model files give one-line errors")
struct ImporterErrorTests {
    @Test("xgboost: truncated, wrong objective, dart, gblinear, missing key, child out of range, cycle")
    func xgboost() throws {
        let text = try Fixtures.text("xgb-d3-20.model.json")
        let truncated = importError("xgb", String(text.prefix(text.count / 2)))
        #expect(truncated?.hasPrefix("edited.json: not valid JSON") == true, "\(truncated ?? "")")

        let objective = importError(
            "xgb", try edited("xgb-d3-20.model.json", "\"binary:logistic\"", "\"reg:squarederror\""))
        #expect(objective == "edited.json: objective is \"reg:squarederror\"; only binary:logistic is supported")

        let dart = importError("xgb", try edited("xgb-d3-20.model.json", "\"name\":\"gbtree\"", "\"name\":\"dart\""))
        #expect(dart?.contains("dart booster is not supported") == true)
        let linear = importError(
            "xgb", try edited("xgb-d3-20.model.json", "\"name\":\"gbtree\"", "\"name\":\"gblinear\""))
        #expect(linear?.contains("gblinear booster is not supported") == true)

        let missing = importError("xgb", try edited("xgb-d1-1.model.json", "\"left_children\"", "\"left_kids\""))
        #expect(
            missing == "edited.json: learner.gradient_booster.model.trees[0]: missing key \"left_children\"",
            "\(missing ?? "")")

        let outOfRange = importError(
            "xgb", try edited("xgb-d1-1.model.json", "\"left_children\":[1,-1,-1]", "\"left_children\":[7,-1,-1]"))
        #expect(outOfRange == "edited.json: trees[0] node 0: left_children 7 is outside 0..<3", "\(outOfRange ?? "")")

        // Node 1 becomes a split whose left child is node 0 (its parent): a cycle.
        let cycle = importError(
            "xgb",
            try edited("xgb-d1-1.model.json", "\"left_children\":[1,-1,-1]", "\"left_children\":[1,0,-1]")
                .replacingOccurrences(of: "\"right_children\":[2,-1,-1]", with: "\"right_children\":[2,2,-1]"))
        #expect(cycle?.contains("tree 0: node 0 is reached twice") == true, "\(cycle ?? "")")

        let base = importError("xgb", try edited("xgb-d1-1.model.json", "\"[4.3366668E-1]\"", "\"[1.5E0]\""))
        #expect(base?.contains("base_score [1.5E0] is not a probability") == true, "\(base ?? "")")
    }

    @Test("lightgbm: truncated, wrong objective, missing key, child out of range, cycle")
    func lightgbm() throws {
        let text = try Fixtures.text("lgb-1-l4.model.txt")
        let truncated = importError("lgb", String(text.prefix(text.count / 5)))
        #expect(truncated == "edited.txt: truncated: no \"end of trees\" line", "\(truncated ?? "")")

        let objective = importError(
            "lgb", try edited("lgb-1-l4.model.txt", "objective=binary sigmoid:1", "objective=regression"))
        #expect(objective == "edited.txt: objective is \"regression\"; only binary is supported")

        let missing = importError("lgb", try edited("lgb-1-l4.model.txt", "leaf_value=", "leaf_values="))
        #expect(missing == "edited.txt: Tree=0: missing key \"leaf_value\"", "\(missing ?? "")")

        let outOfRange = importError(
            "lgb", try edited("lgb-1-l4.model.txt", "left_child=1 -1 -3", "left_child=1 -1 -9"))
        #expect(
            outOfRange == "edited.txt: Tree=0: tree 0 node 2: left child 11 is outside 0..<7", "\(outOfRange ?? "")")

        let cycle = importError("lgb", try edited("lgb-1-l4.model.txt", "right_child=-2 2 -4", "right_child=-2 0 -4"))
        #expect(cycle?.contains("node 0 is reached twice") == true, "\(cycle ?? "")")

        let badNumber = importError(
            "lgb", try edited("lgb-1-l4.model.txt", "threshold=1.5855000019073489", "threshold=abc"))
        #expect(badNumber == "edited.txt: Tree=0: threshold[0] \"abc\" is not a finite number", "\(badNumber ?? "")")
    }

    @Test("logistic: truncated, missing key, count mismatch")
    func logistic() throws {
        let text = try Fixtures.text("logreg-6.logistic.json")
        #expect(importError("lr", String(text.prefix(40)))?.contains("not valid JSON") == true)
        let missing = importError("lr", try edited("logreg-6.logistic.json", "\"intercept\"", "\"bias\""))
        #expect(missing == "edited.json: top level: missing key \"intercept\"", "\(missing ?? "")")
        let names = importError("lr", try edited("logreg-6.logistic.json", "\"f5\"", "\"f5\", \"f6\""))
        #expect(names == "edited.json: features has 7 names for 6 coefficients")
    }

    @Test("importers report the feature names of the file")
    func featureNames() throws {
        #expect(
            try Fixtures.importModel("bench-d6-100").featureNames == [
                "sound_mean_60s", "sound_max_10s", "temperature_slope_600s", "hvac_heating", "tod_sin",
            ])
        #expect(try Fixtures.importModel("lgb-30-l15-categorical").featureNames[3] == "f3_cat")
    }
}
