import ArgumentParser
import FleetProtocol
import Foundation
import Server

extension ServerCommand {
    /// `occupant server shadow SCOPE [VERSION] [--gateway ID] [--clear] [--json]`.
    struct Shadow: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Score a second model in shadow beside the running one, or show how the shadow does.",
            discussion: """
                With VERSION, the scope's gateways (or only --gateway) fetch that version, verify it like any model \
                and score it on every sample without publishing it; --clear stops that. Without either, shows each \
                gateway's shadow and its evidence: agreement with the running model and, on labelled samples, the \
                realised accuracy of both.
                """)
        @OptionGroup var client: ServerClientOptions
        @Argument(help: "The scope.") var scope: String
        @Argument(help: "The version to score in shadow.") var version: Int?
        @Option(help: "Only this gateway of the scope.") var gateway: String?
        @Flag(help: "Clear the shadow assignment (of the scope, or of --gateway).") var clear = false
        @Flag(help: "Print the server's JSON.") var json = false

        func validate() throws {
            if clear && version != nil { throw ValidationError("give a VERSION or --clear, not both") }
            if let version, version < 1 { throw ValidationError("VERSION \(version): a version is 1 or more") }
            if gateway != nil && version == nil && !clear {
                throw ValidationError("--gateway needs a VERSION or --clear")
            }
        }

        func run() async throws {
            let listing = try await client.withRegistry { registry in
                if version != nil || clear {
                    return try await registry.assignShadow(scope: scope, version: version, gateway: gateway)
                }
                return try await registry.shadow(scope: scope)
            }
            if json { return try printJSON(listing) }
            for line in Self.lines(listing) { print(line) }
        }

        /// One line per gateway and (running, shadow) pair seen in its windows, beside its current assignment:
        /// agreement, shadow transitions, labelled samples and both realised accuracies.
        static func lines(_ listing: ShadowListing) -> [String] {
            var out = [
                "scope \(listing.scope): shadow \(listing.version.map { "v\($0)" } ?? "none")"
                    + (listing.awaitingEvidence.map { "; v\($0) awaits shadow evidence for promotion" } ?? "")
            ]
            let header = [
                "GATEWAY", "ASSIGNED", "SHADOW", "RUNNING", "WINDOWS", "AGREEMENT", "TRANSITIONS", "LABELLED",
                "ACC RUNNING", "ACC SHADOW",
            ]
            var rows: [[String]] = []
            for g in listing.gateways {
                let assigned = (g.assigned ?? "-") + (g.own ? " (own)" : "")
                if g.evidence.isEmpty { rows.append([g.gateway, assigned, "-", "-", "0", "-", "-", "0", "-", "-"]) }
                for e in g.evidence {
                    rows.append([
                        g.gateway, assigned, e.shadow, e.active, String(e.windows),
                        e.agreement.map(Monitor.percent) ?? "-", String(e.shadowTransitions), String(e.labelled),
                        e.activeAccuracy.map(Monitor.percent) ?? "-", e.shadowAccuracy.map(Monitor.percent) ?? "-",
                    ])
                }
            }
            let widths = header.indices.dropLast().map { i in ([header] + rows).map { $0[i].count }.max() ?? 0 }
            out += ([header] + rows).map { row in
                row.enumerated().map { i, cell in
                    i < widths.count ? cell.padding(toLength: widths[i], withPad: " ", startingAt: 0) : cell
                }.joined(separator: "  ")
            }
            return out
        }
    }
}
