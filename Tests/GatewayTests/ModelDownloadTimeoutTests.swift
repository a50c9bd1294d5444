import Foundation
import OccupantTesting
import Testing

@testable import Gateway

/// A server that stops sending, or drips, a model's body fails that download instead of blocking every later update;
/// the next attempt resumes what came (issue 11).
@Suite(.serialized) struct ModelDownloadTimeoutTests {
    static var shortLimits: ModelUpdater.DownloadLimits {
        var limits = ModelUpdater.DownloadLimits()
        limits.idle = 1
        limits.base = 3
        limits.secondsPerMiB = 0
        return limits
    }

    @Test func aStalledBodyFailsAfterTheIdleTimeoutAndTheRetryResumes() async throws {
        let rig = try await DeliveryRig(
            id: "stall", pollInterval: "300s", limits: Self.shortLimits,
            startServing: { host, bundle in
                host.serve(bundle)
                host.stallNextDownload(after: bundle.count / 2)
            })
        defer { rig.kill() }
        try await rig.probe.waitFor("occupant/stall/model/status", timeout: 30, "active") {
            jsonObject($0)?["active"] as? String == "bench-d6-100@1"
        }
        let gets = rig.host.requests.filter { $0.method == "GET" }
        #expect(gets.map(\.status) == [200, 206])
        let range = try #require(gets.last?.range)
        #expect(range == "bytes=\(rig.v1Size / 2)-", "\(range)")
        try await rig.stop()
    }

    @Test func aDrippingBodyFailsAtTheOverallCapAndTheRetryResumes() async throws {
        let rig = try await DeliveryRig(
            id: "drip", pollInterval: "300s", limits: Self.shortLimits,
            startServing: { host, bundle in
                host.serve(bundle)
                host.dripNextDownload()
            })
        defer { rig.kill() }
        try await rig.probe.waitFor("occupant/drip/model/status", timeout: 30, "active") {
            jsonObject($0)?["active"] as? String == "bench-d6-100@1"
        }
        let gets = rig.host.requests.filter { $0.method == "GET" }
        #expect(gets.map(\.status) == [200, 206])
        // Some bytes came one by one before the cap: the retry asked for the rest only.
        let range = try #require(gets.last?.range)
        let start = try #require(Int(range.dropFirst("bytes=".count).dropLast()))
        #expect(start > 0 && start < rig.v1Size, "resumed at \(start) of \(rig.v1Size)")
        try await rig.stop()
    }

    @Test func theOverallCapGrowsWithTheAnnouncedSize() {
        let limits = ModelUpdater.DownloadLimits()
        #expect(limits.overall(bytes: 0) == limits.base)
        #expect(limits.overall(bytes: 16 << 20) == limits.base + 16 * limits.secondsPerMiB)
    }
}
