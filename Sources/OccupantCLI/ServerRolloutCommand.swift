import ArgumentParser
import FleetProtocol
import Foundation
import OccupantCore
import Server

extension ServerCommand {
    struct Rollout: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show a scope's staged rollout wave by wave, or abort, resume or roll it back.",
            discussion: """
                Each wave is pending, inProbation, passed, aborted or rolledBack; each gateway pending, installing, \
                inProbation, passed, rolledBack (its own guard took the model back), alerted or withdrawn.
                  abort     stop widening and take the model back from the current wave (earlier waves keep it)
                  resume    go on from the current wave
                  rollback  every gateway back to the previous model, and the champion alias with it (final)
                """)
        @OptionGroup var client: ServerClientOptions
        @Argument(help: "The scope.") var scope: String
        @Argument(help: "abort, resume or rollback (none: show the rollout).") var action: RolloutDocument.Action?
        @Option(help: "Who acts (default: $USER, else admin).") var by: String?
        @Flag(help: "Print the server's JSON.") var json = false

        func run() async throws {
            let name = by ?? ProcessInfo.processInfo.environment["USER"] ?? "admin"
            let document = try await client.withRegistry { registry in
                if let action { return try await registry.rollout(scope: scope, action, by: name) }
                return try await registry.rollout(scope: scope)
            }
            if json { return try printJSON(document) }
            for line in Self.lines(document) { print(line) }
        }

        /// For people: the rollout's state, then one row per wave with its counts and the gateways behind them.
        static func lines(_ d: RolloutDocument) -> [String] {
            var out = [
                "\(d.scope) v\(d.version) (from \(d.previous.map { "v\($0)" } ?? "the rule")): \(d.state)"
                    + (d.reason.map { " — \($0)" } ?? ""),
                "started \(d.started); probation \(formatDuration(d.probationSeconds)) per wave; aborts above "
                    + String(format: "%.0f%%", d.abortShare * 100) + " of a wave rolled back or alerted",
            ]
            let order = ["pending", "installing", "inProbation", "passed", "rolledBack", "alerted", "withdrawn"]
            let rows = d.waves.map { w in
                let counts = order.compactMap { k in w.counts[k].map { "\($0) \(k)" } }.joined(separator: ", ")
                let notable = w.gateways.filter { ["rolledBack", "alerted", "installing"].contains($0.state) }
                    .prefix(5).map { g in "\(g.gateway) \(g.state)" + (g.reason.map { ": \($0)" } ?? "") }
                return [
                    String(w.number), w.state, String(w.gateways.count), counts,
                    notable.isEmpty ? "-" : notable.joined(separator: "; "),
                ]
            }
            out += table(["WAVE", "STATE", "GATEWAYS", "PROGRESS", "NOTABLE"], rows)
            return out
        }

        static func formatDuration(_ seconds: Double) -> String {
            if seconds >= 3600, seconds.truncatingRemainder(dividingBy: 3600) == 0 { return "\(Int(seconds / 3600)) h" }
            if seconds >= 60, seconds.truncatingRemainder(dividingBy: 60) == 0 { return "\(Int(seconds / 60)) min" }
            return "\(formatNumber(seconds)) s"
        }
    }
}

extension ServerCommand {
    struct Promote: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Make a stored version the scope's champion now, rolled out in waves like any promotion.",
            discussion: """
                For a challenger the promotion rule kept, or to roll forward to a version you chose. The first wave \
                gets it at once; `occupant server rollout SCOPE` follows it.
                """)
        @OptionGroup var client: ServerClientOptions
        @Argument(help: "The scope.") var scope: String
        @Argument(help: "The version to promote.") var version: Int
        @Option(help: "Who promotes (default: $USER, else admin).") var by: String?
        @Flag(help: "Print the server's JSON.") var json = false

        func run() async throws {
            let name = by ?? ProcessInfo.processInfo.environment["USER"] ?? "admin"
            let document = try await client.withRegistry {
                try await $0.promote(scope: scope, version: version, by: name)
            }
            if json { return try printJSON(document) }
            for line in Rollout.lines(document) { print(line) }
        }
    }
}

extension RolloutDocument.Action: ExpressibleByArgument {}
