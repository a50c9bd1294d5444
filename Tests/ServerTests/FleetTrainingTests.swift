import Evaluator
import Features
import Foundation
import Logging
import OccupantCore
import OccupantTesting
import Server
import Testing
import Training

/// A scope trains on every gateway's stream: features per stream, rows concatenated, folds blocked by day across
/// gateways, and the report names each gateway's share.
@Suite(.serialized, .ownThread) struct FleetTrainingTests {
    /// Two rooms one after the other in time: a loud one, then a quiet one starting where the first ended.
    func twoRooms() -> (a: [TelemetryRow], b: [TelemetryRow]) {
        let t0 = 1_767_225_600.0
        let a = (0..<120).map {
            TelemetryRow(gateway: "gw-a", at: t0 + Double($0) * 30, readings: ["sound": .number(80)])
        }
        let b = (120..<240).map {
            TelemetryRow(gateway: "gw-b", at: t0 + Double($0) * 30, readings: ["sound": .number(20)])
        }
        return (a, b)
    }

    @Test func featureWindowsNeverCrossFromOneGatewayIntoAnother() throws {
        let (a, b) = twoRooms()
        let joined = TrainingData.joined(streams: [("gw-a", a, []), ("gw-b", b, [])])
        let table = joined.table
        #expect(table.count == 240 && joined.rows == ["gw-a": 120, "gw-b": 120] && joined.skipped == 0)
        #expect(table.streams.map(\.name) == ["gw-a", "gw-b"])
        #expect(table.streams.map(\.rows) == [0..<120, 120..<240])
        let groups: [FeatureGroup] = [.levels(channels: ["sound"], windows: [600], transforms: [.mean, .max])]
        let both = try FeatureSpace(table: table, groups: groups)
        let alone = try FeatureSpace(table: TrainingData.table(rows: b, labels: []), groups: groups)
        // gw-b's features are those of its stream alone: the first window holds only its own quiet readings.
        for f in both.columns.indices {
            #expect(Array(both.columns[f][120...]) == alone.columns[f], "\(both.schema.names[f])")
        }
        #expect(both.columns[0][120] == 20)
        // The same rows as one series would carry gw-a's loud readings into gw-b's first ten minutes.
        let merged = try FeatureSpace(table: TrainingData.table(rows: a + b, labels: []), groups: groups)
        #expect(merged.columns[0][120] > 20)
    }

    @Test func foldsAreBlockedByDayAcrossGateways() throws {
        // gw-a labelled days 0–2, gw-b days 2–4: day 2 has rows from both.
        let (ra, la) = simulatedDays(0..<3, gateway: "gw-a", step: 600)
        let (rb, lb) = simulatedDays(2..<5, gateway: "gw-b", step: 600)
        let table = TrainingData.joined(streams: [("gw-a", ra, la), ("gw-b", rb, lb)]).table
        #expect(table.count == ra.count + rb.count && table.labelledCount == ra.count + rb.count)
        let cv = try CrossValidation(table: table, count: 5)
        #expect(cv.folds.count == 5)
        var foldOfDay: [Int64: Int] = [:]
        for (k, fold) in cv.folds.enumerated() {
            let days = Set(fold.validation.map(table.day))
            #expect(days.isDisjoint(with: Set(fold.train.map(table.day))), "fold \(k) trains on a day it validates")
            for d in days {
                #expect(foldOfDay[d] == nil)
                foldOfDay[d] = k
            }
        }
        #expect(foldOfDay.count == 5)
        // Day 2's validation fold holds both gateways' rows of that day.
        let day2 = table.day(0) + 2
        let fold = cv.folds[foldOfDay[day2]!]
        let streamsOfDay2 = Set(fold.validation.filter { table.day($0) == day2 }.map { $0 < ra.count ? "a" : "b" })
        #expect(streamsOfDay2 == ["a", "b"])
        // The holdout cut applies to every stream: training rows are all before it.
        let (training, cut) = try #require(TrainingData.split(table, holdout: 0.25))
        #expect(training.times.allSatisfy { $0 < cut })
        #expect(training.streams.map(\.name) == ["gw-a", "gw-b"])
    }

    @Test func aScopeTrainsOnEveryGatewayAndTheReportSaysHowMuchEach() async throws {
        let dir = try temporaryDirectory("fleet-training")
        let (_, store, registry) = try retrainingRig(
            dir,
            yaml: """
                gateways:
                  - { id: gw-a, scope: office, token: a }
                  - { id: gw-b, scope: office, token: b }
                  - { id: gw-c, scope: office, token: c }
                retrain: { trials: 3, holdout: 0.25 }
                """)
        let (ra, la) = simulatedDays(0..<2, gateway: "gw-a", step: 120)
        let (rb, lb) = simulatedDays(2..<4, gateway: "gw-b", seed: 9, step: 120)
        _ = try await store.insertTelemetry(gateway: "gw-a", batchID: nil, rows: ra)
        _ = try await store.insertTelemetry(gateway: "gw-b", batchID: nil, rows: rb)
        try await store.insertLabels(la + lb)
        let outcome = try await registry.retrain(scope: "office", trigger: "test")
        let version = try #require(outcome.version, "\(outcome.reason)")
        let record = try #require(try await store.model(scope: "office", version: version))
        let report = try reportDecoder().decode(RetrainReport.self, from: Data(record.report.utf8))
        // gw-c has no telemetry and contributes nothing; the others every row.
        #expect(
            report.gateways
                == [
                    StreamContribution(gateway: "gw-a", rows: ra.count, labelledRows: ra.count),
                    StreamContribution(gateway: "gw-b", rows: rb.count, labelledRows: rb.count),
                ])
        // Four days of data, two per gateway: the table held both streams (one gateway has only two days).
        #expect(report.training.labelledRows > ra.count)
        #expect(record.dataFrom == ra[0].at)
    }
}

/// Decodes stored reports (non-finite numbers are written as strings).
func reportDecoder() -> JSONDecoder {
    let decoder = JSONDecoder()
    decoder.nonConformingFloatDecodingStrategy = .convertFromString(
        positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
    return decoder
}
