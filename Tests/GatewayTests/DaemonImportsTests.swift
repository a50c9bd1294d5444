import Foundation
import Testing

/// The gateway daemon's own targets import FoundationEssentials only: full Foundation (with ICU's data) costs the
/// daemon 12–16 MB of RSS (issue 16). A file that needs the other branch writes the usual
/// `#if canImport(FoundationEssentials) … #else import Foundation #endif`.
@Suite struct DaemonImportsTests {
    static let daemonTargets = [
        "OccupantCore", "Features", "FleetProtocol", "I2C", "Sensors", "MQTT", "Evaluator", "Gateway", "GatewayDaemon",
        "occupant-gateway",
    ]
    static let sources = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Sources")

    /// `file:line` of each import of full Foundation (or its ICU, networking or XML parts) outside the `#else` of a
    /// `#if canImport(FoundationEssentials)`.
    static func fullFoundationImports(in text: String, file: String) -> [String] {
        let modules: Set<String> = [
            "Foundation", "FoundationInternationalization", "FoundationNetworking", "FoundationXML", "CoreFoundation",
        ]
        var found: [String] = []
        // One entry per open #if: whether it tests canImport(FoundationEssentials), and whether we are past its #else.
        var blocks: [(essentials: Bool, inElse: Bool)] = []
        for (number, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = raw.drop { $0 == " " || $0 == "\t" }
            if line.hasPrefix("#if") {
                blocks.append((line.contains("canImport(FoundationEssentials)"), false))
            } else if line.hasPrefix("#elseif") || line.hasPrefix("#else") {
                if !blocks.isEmpty { blocks[blocks.count - 1].inElse = true }
            } else if line.hasPrefix("#endif") {
                _ = blocks.popLast()
            } else {
                let words = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
                guard let at = words.firstIndex(of: "import"), at + 1 < words.count,
                    words[..<at].allSatisfy({ $0.hasPrefix("@") || ["public", "internal", "package"].contains($0) })
                else { continue }
                // `import struct Foundation.URL` imports Foundation too.
                let kinds: Set<Substring> = ["struct", "class", "enum", "protocol", "func", "var", "let", "typealias"]
                let named = words[(at + 1)...].first { !kinds.contains($0) } ?? ""
                let module = named.split(separator: ".").first.map(String.init) ?? ""
                guard modules.contains(module) else { continue }
                if blocks.contains(where: { $0.essentials && $0.inElse }) { continue }
                found.append("\(file):\(number + 1)")
            }
        }
        return found
    }

    @Test func daemonSourcesImportFoundationEssentialsOnly() throws {
        var offenders: [String] = []
        var files = 0
        for target in Self.daemonTargets {
            let folder = Self.sources.appendingPathComponent(target)
            guard let walker = FileManager.default.enumerator(atPath: folder.path) else {
                Issue.record("no folder \(folder.path)")
                continue
            }
            for case let name as String in walker where name.hasSuffix(".swift") {
                let text = try String(contentsOf: folder.appendingPathComponent(name), encoding: .utf8)
                offenders += Self.fullFoundationImports(in: text, file: "\(target)/\(name)")
                files += 1
            }
        }
        #expect(files > 100)
        #expect(offenders == [], "import FoundationEssentials (the #if canImport pattern) instead")
    }

    @Test func theCheckFindsAnUnconditionalImport() {
        #expect(Self.fullFoundationImports(in: "import Logging\nimport Foundation\n", file: "a") == ["a:2"])
        #expect(Self.fullFoundationImports(in: "@preconcurrency import Foundation\n", file: "a") == ["a:1"])
        #expect(Self.fullFoundationImports(in: "import struct Foundation.URL\n", file: "a") == ["a:1"])
        #expect(Self.fullFoundationImports(in: "import FoundationEssentials\n", file: "a") == [])
        #expect(Self.fullFoundationImports(in: "import FoundationNetworking\n", file: "a") == ["a:1"])
        let essentials =
            "#if canImport(FoundationEssentials)\n    import FoundationEssentials\n#else\n    import Foundation\n#endif\n"
        #expect(Self.fullFoundationImports(in: essentials, file: "a") == [])
        let otherCondition = "#if os(Linux)\n    import Foundation\n#else\n    import Foundation\n#endif\n"
        #expect(Self.fullFoundationImports(in: otherCondition, file: "a") == ["a:2", "a:4"])
    }
}
