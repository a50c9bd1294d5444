import Foundation
import OccupantTesting
import Testing

@testable import Gateway

/// libcurl is loaded on the gateway's first transfer, not at start (issue 16: its ≈27 libraries cost 4–6 MB of RSS
/// in a daemon that may never talk to a training host). Neither binary names it among its DT_NEEDED; a system
/// without it still decides and publishes, and the uplink fails with one line saying what to install.
@Suite(.serialized) struct LazyLibcurlTests {
    /// The DT_NEEDED entries of an ELF file, as `readelf -d` prints them.
    func neededLibraries(_ binary: URL) throws -> [String] {
        let (status, output) = try runTool("readelf", ["-d", binary.path])
        #expect(status == 0)
        let text = String(decoding: output, as: UTF8.self)
        // " 0x0000000000000001 (NEEDED)  Shared library: [libmosquitto.so.1]"
        return text.split(separator: "\n").filter { $0.contains("(NEEDED)") }.compactMap { line in
            guard let open = line.lastIndex(of: "["), let close = line.lastIndex(of: "]") else { return nil }
            return String(line[line.index(after: open)..<close])
        }
    }

    @Test func neitherBinaryLinksLibcurl() throws {
        let occupant = try occupantExecutable()
        let daemon = occupant.deletingLastPathComponent().appendingPathComponent("occupant-gateway")
        for binary in [occupant, daemon] {
            let needed = try neededLibraries(binary)
            // The control: the list was read (both link libmosquitto).
            #expect(needed.contains("libmosquitto.so.1"), "\(binary.lastPathComponent): \(needed)")
            #expect(!needed.contains { $0.hasPrefix("libcurl") }, "\(binary.lastPathComponent): \(needed)")
        }
    }

    @Test func aLibraryThatIsNotLibcurlIsOneLineSayingWhatToInstall() {
        #expect(Uplink.probe("libcurl.so.4") == nil)
        let missing = Uplink.probe("libcurl-occupant-missing.so.4")
        #expect(missing?.hasPrefix("libcurl-occupant-missing.so.4 could not be loaded (") == true, "\(missing ?? "")")
        #expect(missing?.contains("cannot open shared object file") == true, "\(missing ?? "")")
        #expect(missing?.hasSuffix("): install libcurl4 (libcurl4t64 on Debian 13, Ubuntu 24.04 and later)") == true)
        // A library that loads but is not libcurl: the first function it lacks.
        let zlib = Uplink.probe("libz.so.1")
        #expect(zlib?.hasPrefix("libz.so.1 could not be loaded (libz.so.1 lacks curl_global_init): install") == true)
        #expect(missing.map { !$0.contains("\n") } == true && zlib.map { !$0.contains("\n") } == true)
    }

    /// The daemon with a `server:` on a system whose libcurl.so.4 is not a library (an empty file found first through
    /// LD_LIBRARY_PATH): it starts, decides and publishes; the uplink says once why it cannot work.
    @Test func withoutLibcurlTheDaemonDecidesAndSaysOnceWhatToInstall() async throws {
        let broker = try await MosquittoBroker()
        let probe = try await MQTTProbe(port: broker.port, subscriptions: ["occupant/nocurl/#"])
        let dir = try temporaryDirectory("lazy-libcurl")
        let libraries = dir.appendingPathComponent("lib")
        try FileManager.default.createDirectory(at: libraries, withIntermediateDirectories: true)
        try Data().write(to: libraries.appendingPathComponent("libcurl.so.4"))
        let port = try freeLoopbackPort()
        let config = dir.appendingPathComponent("gateway.yaml")
        try """
        gatewayId: nocurl
        profile: \(packageRootPath("firmware-profiles/thermostat-mcu.yaml"))
        simulate: { scenario: day, speed: 600 }
        broker: { port: \(broker.port) }
        stateDirectory: \(dir.appendingPathComponent("state").path)
        server: { url: "http://127.0.0.1:\(port)", token: gw-token, pollInterval: 1s, uploadInterval: 200ms }
        """.write(to: config, atomically: true, encoding: .utf8)
        let daemon = try occupantExecutable().deletingLastPathComponent().appendingPathComponent("occupant-gateway")
        let gateway = try ChildProcess(
            ["--config", config.path], environment: ["LD_LIBRARY_PATH": libraries.path], executable: daemon)
        defer { gateway.signal(SIGKILL) }
        let line = "libcurl.so.4 could not be loaded ("
        _ = try await waitUntil(timeout: 30, "the uplink's warning") { gateway.stderr.contains(line) ? true : nil }
        #expect(gateway.stderr.contains("file too short): install libcurl4"), "\(gateway.stderr)")
        try await probe.waitFor("occupant/nocurl/occupancy", timeout: 20)
        // More transfers fail (uploads every 200 ms, polls after a backoff), more decisions come; still one warning
        // each from the uploader and the model poll.
        let first = gateway.stderr.components(separatedBy: "decision:").count
        _ = try await waitUntil(timeout: 60, "four more decisions") {
            gateway.stderr.components(separatedBy: "decision:").count >= first + 4 ? true : nil
        }
        #expect(gateway.stderr.components(separatedBy: line).count - 1 <= 2, "\(gateway.stderr)")
        gateway.signal(SIGTERM)
        #expect(try await gateway.wait(timeout: 15) == 0)
    }
}
