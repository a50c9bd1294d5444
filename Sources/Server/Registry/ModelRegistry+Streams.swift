import Foundation
import OccupantCore
import Training

/// What one gateway's stream gave a job's table: its rows and labelled rows (after skipping rows of the wrong kind).
public struct StreamContribution: Codable, Sendable, Equatable {
    public var gateway: String
    public var rows: Int
    public var labelledRows: Int

    public init(gateway: String, rows: Int, labelledRows: Int) {
        self.gateway = gateway
        self.rows = rows
        self.labelledRows = labelledRows
    }
}

/// A job's table: the gateways' streams, each featurised on its own (`LabelledTable.streams`).
struct StreamsTable {
    /// nil when the gateways have no labelled telemetry.
    var table: LabelledTable?
    var skipped: Int
    var contributions: [StreamContribution]
}

extension ModelRegistry {
    /// The joined table of `gateways` (in the window `retrain.window`), one stream per gateway that has telemetry.
    func streamsTable(gateways: [String]) async throws -> StreamsTable {
        let from = config.retrain.window.map { clock.now().seconds - $0 }
        var streams: [(gateway: String, rows: [TelemetryRow], labels: [LabelRange])] = []
        for g in gateways.sorted() {
            let rows = try await store.telemetry(gateways: [g], from: from)
            guard !rows.isEmpty else { continue }
            streams.append((g, rows, try await store.labels(gateways: [g])))
        }
        guard !streams.isEmpty else { return StreamsTable(table: nil, skipped: 0, contributions: []) }
        let joined = TrainingData.joined(streams: streams)
        let table = joined.table
        let contributions = table.streams.map { s in
            StreamContribution(
                gateway: s.name, rows: s.rows.count, labelledRows: s.rows.filter { table.labels[$0] != nil }.count)
        }
        return StreamsTable(
            table: table.labelledCount > 0 ? table : nil, skipped: joined.skipped, contributions: contributions)
    }
}
