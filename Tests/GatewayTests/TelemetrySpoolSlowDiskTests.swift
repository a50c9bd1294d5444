import Foundation
import OccupantCore
import OccupantTesting
import Testing

@testable import Gateway

/// A slow SD card must not stall the decision loop: `append` never waits for a flush's file I/O.
@Suite(.ownThread) struct TelemetrySpoolSlowDiskTests {
    func sample(_ second: Double) -> Sample {
        Sample(
            at: Instant(seconds: 1_767_571_200 + second),
            readings: [
                Reading(channel: "sound", value: .number(second))
            ])
    }

    @Test func appendsCompleteQuicklyWhileAFlushIsBlockedOnTheDisk() async throws {
        let dir = try temporaryDirectory("spool-slow").appendingPathComponent("spool").path
        let disk = SlowFileSystem(delay: .seconds(2))
        let spool = try TelemetrySpool(directory: dir, limit: 1000, batchSize: 100, logger: testLogger(), files: disk)
        for s in 0..<10 { spool.append(sample(Double(s))) }

        // The uploader's flush, stuck in a write (on a thread of its own: a blocked pool thread would hold up the
        // whole test run, not just this test).
        let flushing = Task { try await runOffThePool { try spool.flush() } }
        #expect(disk.waitForBlockedWrite())

        // The decision loop, from another task, meanwhile.
        let durations = await Task.detached { () -> [Duration] in
            let clock = ContinuousClock()
            return (10..<60).map { s in clock.measure { spool.append(sample(Double(s))) } }
        }.value
        #expect(disk.blockedWrites == 1, "the flush was still blocked while the appends ran")
        #expect(durations.count == 50)
        #expect(durations.allSatisfy { $0 < .milliseconds(50) }, "slowest append: \(durations.max()!)")

        disk.release()
        try await flushing.value
        try spool.flush()

        var values: [Double] = []
        while let batch = try spool.nextBatch() {
            for line in String(decoding: batch.body, as: UTF8.self).split(separator: "\n") {
                values.append(try #require((json(String(line))?["readings"] as? [String: Double])?["sound"]))
            }
            spool.acknowledge(batch)
        }
        #expect(values == (0..<60).map(Double.init))
        #expect(spool.droppedCount == 0)
    }
}
