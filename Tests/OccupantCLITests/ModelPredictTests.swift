import Foundation
import OccupantTesting
import Testing

/// `occupant train` then `occupant model predict` on the UCI files, as a data scientist would try them.
@Suite struct ModelPredictTests {
    @Test func predictReadsTheFilesTrainReadsAndAgreesWithEvaluate() async throws {
        let uci = packageRoot().deletingLastPathComponent().appendingPathComponent(
            "shared/data/uci-occupancy-detection")
        let dir = try temporaryDirectory("occupant-predict")
        let model = dir.appendingPathComponent("uci.occmodel").path
        let trained = try await ChildProcess.run([
            "train", "--data", uci.appendingPathComponent("datatraining.txt").path, "--time", "date", "--label",
            "Occupancy", "--trials", "4", "--out", model,
        ])
        try #require(trained.status == 0, "\(trained.stderr)")
        // Not a terminal: progress comes as plain lines, trials counted as trials, ending with the final fit.
        #expect(trained.stderr.contains("· trial 0/4 · rung 1/"), "\(trained.stderr)")
        #expect(!trained.stderr.contains("\r"))
        #expect(trained.stderr.contains("· final fit"), "\(trained.stderr)")
        #expect(trained.stderr.hasPrefix("0%") && trained.stderr.contains("\n100% · final fit"), "\(trained.stderr)")

        let test = uci.appendingPathComponent("datatest.txt").path
        let predicted = try await ChildProcess.run([
            "model", "predict", "--model", model, "--data", test, "--time", "date",
        ])
        try #require(predicted.status == 0, "\(predicted.stderr)")
        let lines = predicted.stdout.split(separator: "\n")
        #expect(lines.first == "time,probability,decision")
        let rows = lines.dropFirst().map { $0.split(separator: ",", omittingEmptySubsequences: false) }
        let fileRows = try String(contentsOfFile: test, encoding: .utf8).split(separator: "\n").count - 1
        #expect(rows.count == fileRows)
        #expect(rows.allSatisfy { $0.count == 3 && Double($0[1]).map { (0...1).contains($0) } == true })
        let occupied = rows.filter { $0[2] == "1" }.count

        // The same decisions `evaluate` counts (its threshold is the bundle's).
        let evaluated = try await ChildProcess.run([
            "evaluate", "--model", model, "--data", test, "--time", "date", "--label", "Occupancy", "--json",
        ])
        let report = try JSONSerialization.jsonObject(with: Data(evaluated.stdout.utf8)) as? [String: Any]
        let confusion = try #require(report?["confusion"] as? [String: Int], "\(evaluated.stdout)")
        #expect(occupied == confusion["tp"]! + confusion["fp"]!)

        // Without --time a file of raw channels gets a hint, not a parse error about field counts.
        let raw = try await ChildProcess.run(["model", "predict", "--model", model, "--data", test])
        #expect(raw.status != 0)
        #expect(raw.stderr.contains("holds the raw channels") && raw.stderr.contains("pass --time"), "\(raw.stderr)")
    }
}
