import ArgumentParser
import Foundation
import Server

extension ServerCommand {
    /// `occupant server rooms SCOPE [--json]`.
    struct Rooms: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show each room's model: the fleet model or its own, and the last fleet-vs-room decision.",
            discussion: """
                A room (gateway) with enough labels (retrain.rooms) gets a model trained on its own stream, assigned \
                only when it beats the fleet (scope) model on the room's latest held-out rows. Per room: its labels, \
                the model it runs, both models' accuracy on that window, and the decision with its reason.
                """)
        @OptionGroup var client: ServerClientOptions
        @Argument(help: "The scope.") var scope: String
        @Flag(help: "Print the server's JSON.") var json = false

        func run() async throws {
            let document = try await client.withRegistry { try await $0.rooms(scope: scope) }
            if json { return try printJSON(document) }
            for line in Self.lines(document) { print(line) }
        }

        static func lines(_ d: RoomsDocument) -> [String] {
            var out = [
                "scope \(d.scope): room models \(d.enabled ? "on" : "off") (\(d.labels) label spans on \(d.days) days; "
                    + "\(d.metric), margin \(d.margin))"
            ]
            func score(_ x: Double?) -> String { x.map { String(format: "%.4f", $0) } ?? "-" }
            let rows = d.rooms.map { r -> [String] in
                let h = r.last?.holdout
                return [
                    r.gateway, "\(r.labelSpans)/\(r.labelledDays)d", r.runs ?? "-",
                    h?.fleetVersion.map { "v\($0) " + score(h?.fleet?.accuracy) } ?? "-",
                    r.last?.roomVersion.map { "v\($0) " + score(h?.room.accuracy) } ?? "-",
                    h.map { String($0.rows) } ?? "-",
                    r.last?.reason ?? r.waiting ?? "-",
                ]
            }
            out += table(["GATEWAY", "LABELS", "RUNS", "FLEET", "ROOM", "HELD OUT", "DECISION"], rows)
            return out
        }
    }
}
