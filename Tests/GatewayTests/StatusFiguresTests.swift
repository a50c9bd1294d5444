import FleetProtocol
import Foundation
import Logging
import OccupantCore
import OccupantTesting
import Testing

@testable import Gateway

/// A model status carries the spool backlog and the process figures read when it is published (the dashboard's
/// Gateway screen shows them); without a provider (or from an older gateway) they are absent.
@Suite struct StatusFiguresTests {
    @Test func aStatusCarriesTheSpoolBacklogAndTheProcessFigures() throws {
        let connection = RecordingConnection()
        connection.setConnected(true)
        let publisher = GatewayPublisher(
            connection: connection, topics: GatewayTopics(prefix: "occupant", gatewayID: "g", discoveryPrefix: "ha"),
            discovery: nil, edukitThing: nil, queueLimit: 10, logger: Logger(label: "t"))
        publisher.connected()
        let status = ModelStatusDocument(active: "m@1", sha256: "ab", refused: nil, at: "2026-01-05T08:00:00.000Z")
        func published() throws -> (text: String, document: ModelStatusDocument) {
            let message = try #require(connection.published.last { $0.topic == "occupant/g/model/status" })
            return (
                String(decoding: message.payload, as: UTF8.self),
                try FleetJSON.decode(ModelStatusDocument.self, from: message.payload)
            )
        }
        publisher.publish(modelStatus: status)
        #expect(try !published().text.contains("spoolBacklog") && !published().text.contains("process"))

        let dir = try temporaryDirectory("status-figures").appendingPathComponent("spool").path
        let spool = try TelemetrySpool(directory: dir, limit: 100, batchSize: 4, logger: Logger(label: "t"))
        for s in 0..<7 {
            spool.append(
                Sample(
                    at: Instant(seconds: 1_767_571_200 + Double(s)),
                    readings: [Reading(channel: "sound", value: .number(1))]))
        }
        publisher.reportStatusFigures { (spool.count, ProcessUsage.current()) }
        publisher.publish(modelStatus: status)
        let document = try published().document
        #expect(document.spoolBacklog == 7)
        #expect((document.process?.rssBytes ?? 0) > 0 && document.process?.cpuSeconds != nil)
        #expect(document.active == "m@1")
    }
}
