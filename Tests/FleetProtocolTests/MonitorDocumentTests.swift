import FleetProtocol
import Foundation
import Testing

/// The monitor document's wire form: the figures' names as the issue spells them, and a round trip.
@Test func aMonitorDocumentRoundTripsWithItsFieldNames() throws {
    let document = MonitorDocument(
        gateway: "g1", window: .init(from: TimeValue(seconds: 0), to: TimeValue(seconds: 3600), samples: 3600),
        inputs: ["sound": .init(missing: 0.01, outOfRange: 0, stuck: 0, mean: 4.2, min: 1, max: 40)],
        predictions: .init(
            meanProbability: 0.3, positiveRate: 0.25, transitions: 2, histogram: [10, 0, 0, 0, 0, 0, 0, 0, 0, 5],
            stale: 0),
        drift: ["sound_mean_60s": .init(score: 0.2, threshold: 0.5, drifted: false)], expectedAccuracy: 0.97,
        bundleAccuracy: 0.95, decidedBy: "model:m@1",
        process: .init(cpuSeconds: 1.5, rssBytes: 12_000_000, uptimeSeconds: 3700))
    let bytes = try FleetJSON.bytes(document)
    let object = try #require(try JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any])
    #expect(
        Set(object.keys) == [
            "gateway", "window", "inputs", "predictions", "drift", "expectedAccuracy", "bundleAccuracy", "decidedBy",
            "process",
        ])
    #expect((object["window"] as? [String: Any])?["from"] as? String == "1970-01-01T00:00:00.000Z")
    #expect(
        Set(((object["inputs"] as? [String: Any])?["sound"] as? [String: Any])?.keys ?? [:].keys) == [
            "missing", "outOfRange", "stuck", "mean", "min", "max",
        ])
    #expect(try FleetJSON.decode(MonitorDocument.self, from: bytes) == document)
}
