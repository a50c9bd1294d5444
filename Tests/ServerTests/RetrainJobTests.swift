import Crypto
import Evaluator
import Foundation
import OccupantCore
import Server
import Testing
import Training

/// The retraining job with no store and no registry: a labelled table in, a decision and a signed challenger out.
@Suite struct RetrainJobTests {
    let key = SigningKeys.generate()

    func job(_ table: LabelledTable, champion: RetrainJob.Champion? = nil, version: Int = 1) -> RetrainJob {
        RetrainJob(
            scope: "office", version: version, table: table, holdout: 0.25, trials: 3, seed: 1,
            promotion: PromotionRule(metric: .accuracy, margin: 0.005), champion: champion, signingKey: key,
            keyID: SigningKeys.keyID(for: key.publicKey))
    }

    func table(_ days: Range<Int>) -> LabelledTable {
        let (rows, labels) = simulatedDays(days, gateway: "gw-a")
        return TrainingData.table(rows: rows, labels: labels)
    }

    @Test func firstChallengerBeatsTheRuleAndVerifies() async throws {
        let outcome = try await job(table(0..<2)).run()
        guard case .trained(let result) = outcome else {
            Issue.record("no model: \(outcome)")
            return
        }
        #expect(result.promote, "\(result.reason)")
        #expect(result.reason.contains("no champion yet"))
        let rule = try #require(result.rule)
        #expect(result.challenger.accuracy > rule.metrics.accuracy)
        #expect(result.champion == nil)
        #expect(result.holdoutRows == result.challenger.rows && result.holdoutRows > 0)
        // Signed by the job's key: it opens against the public key and carries the scope and version.
        let trusted = TrustedKey(publicKey: key.publicKey)
        let opened = try ModelBundle.open(result.bytes, trustedKeys: [trusted], now: Instant(seconds: 1_767_600_000))
        #expect(opened.manifest.version == 1)
        #expect(opened.manifest.scope.description == "site office")
    }

    @Test func aChallengerNoBetterThanTheChampionIsKept() async throws {
        let data = table(0..<2)
        guard case .trained(let first) = try await job(data).run() else {
            Issue.record("the first job trained nothing")
            return
        }
        let outcome = try await job(data, champion: .init(version: 1, bundle: first.bundle), version: 2).run()
        guard case .trained(let second) = outcome else {
            Issue.record("no model: \(outcome)")
            return
        }
        #expect(!second.promote, "\(second.reason)")
        #expect(second.reason.contains("does not beat the champion by the margin"))
        #expect(second.champion?.version == 1)
    }

    @Test func tooFewRowsIsARefusalNotAnError() async throws {
        let (rows, labels) = simulatedDays(0..<1, gateway: "gw-a", step: 3600)
        let outcome = try await job(TrainingData.table(rows: rows, labels: labels)).run()
        guard case .refused(let reason) = outcome else {
            Issue.record("expected a refusal: \(outcome)")
            return
        }
        #expect(reason.contains("refused") || reason.contains("too few"), "\(reason)")
    }
}
