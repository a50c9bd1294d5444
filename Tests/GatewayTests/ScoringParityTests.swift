import Evaluator
import Features
import OccupantCore
import OccupantTesting
import Sensors
import Testing

@testable import Gateway

/// Training and inference must never disagree: a recorded stream scored through the gateway's incremental path
/// (ModelScorer, sample by sample) and through the batch path (BatchFeatures + the evaluator, as the trainer does)
/// gives bit-identical feature vectors and scores.
@Suite struct ScoringParityTests {
    @Test func gatewayPathAndBatchPathAreBitIdentical() async throws {
        let fixtures = packageRootPath("Tests/Fixtures/models")
        let imported = try XGBoostImporter.load(path: "\(fixtures)/bench-d6-100.model.json")
        let schemaText = try String(contentsOfFile: "\(fixtures)/bench-features.yaml", encoding: .utf8)
        let schema = try FeatureSchema.parse(yaml: schemaText)
        let manifest = BundleManifest(
            modelID: "parity", version: 1, created: Instant(seconds: 0), features: schema, policy: .init(),
            golden: GoldenVectors.make(
                model: imported.model, rows: Array(repeating: [Double](repeating: 0, count: 5), count: 32)))
        let bundle = ModelBundle(manifest: manifest, model: imported.model)

        // Record a stream from the simulated thermostat through the real decode path, with a sensor outage.
        let profile = try FirmwareProfile.load(path: packageRootPath("firmware-profiles/thermostat-mcu.yaml"))
        let scenario = OfficeDayScenario(seed: 3)
        let clock = ManualClock(scenario.start + 7 * 3600)
        let bus = SimulatedBus(profile: profile, scenario: scenario, clock: clock)
        var reader = SensorReader(profile: profile, bus: bus)
        var samples: [Sample] = []
        for i in 0..<6000 {
            if i == 2000 { bus.inject(.noAcknowledge(address: 0x30)) }
            if i == 2300 { bus.clearFaults() }
            samples.append(await reader.sample(at: clock.now()).sample)
            clock.advance(0.5)
        }

        var scorer = try ModelScorer(bundle: bundle)
        var live: [Double] = []
        for sample in samples {
            switch scorer.score(sample) {
            case .probability(let p, _): live.append(p)
            case .stale: live.append(.nan)
            }
        }
        let rows = try BatchFeatures.rows(schema: schema, samples: samples)
        let batch = rows.map { row in row.allSatisfy(\.isNaN) ? Double.nan : imported.model.probability(row) }
        #expect(live.count == batch.count)
        let mismatches = zip(live, batch).filter { $0.bitPattern != $1.bitPattern }.count
        #expect(mismatches == 0)
        // The stream exercised both the model and missing inputs.
        #expect(Set(live.filter { !$0.isNaN }.map { $0 >= 0.5 }).count == 2 || live.contains { !$0.isNaN })
    }
}
