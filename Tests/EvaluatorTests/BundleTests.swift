import Crypto
import Foundation
import OccupantCore
import OccupantTesting
import Testing

@testable import Evaluator

@Suite("Model bundle round trip", .ownThread)
struct BundleTests {
    @Test("encode, decode, verify and golden-check every fixture model", arguments: Fixtures.allCases)
    func roundTrip(name: String) throws {
        let bundle = try BundleFactory.bundle(case: name)
        let bytes = bundle.encode(signingKey: BundleFactory.key, keyID: BundleFactory.keyID)
        let decoded = try ModelBundle.decode(bytes)
        try decoded.verify(trustedKeys: BundleFactory.trusted)
        try decoded.checkGoldenVectors(tolerance: 1e-6)
        #expect(decoded.manifest == bundle.manifest)
        #expect(decoded.model == bundle.model)
        #expect(decoded.keyID == BundleFactory.keyID)
        // The decoded model still matches the library on every fixture row.
        let rows = try Fixtures.inputs(name).rows
        let check = GoldenVectors.crossCheck(
            model: decoded.model, rows: rows, expected: try Fixtures.expected(name), tolerance: 1e-6)
        #expect(check.passed, "\(name): worst row \(check.worstRow), error \(check.error)")
        _ = try ModelBundle.open(bytes, trustedKeys: BundleFactory.trusted, now: BundleFactory.created)
    }

    @Test("bench-d6-100 bundle is at most a fifth of the XGBoost JSON")
    func size() throws {
        let bundle = try BundleFactory.bundle(case: "bench-d6-100")
        let bytes = bundle.encode(signingKey: BundleFactory.key, keyID: BundleFactory.keyID)
        let json = try Data(contentsOf: Fixtures.directory.appendingPathComponent("bench-d6-100.model.json")).count
        let body = ModelBody.encode(bundle.model).count
        print(
            "bench-d6-100: bundle \(bytes.count) bytes (body \(body)), xgboost JSON \(json) bytes, ratio \(Double(bytes.count) / Double(json))"
        )
        #expect(bytes.count * 5 <= json, "bundle \(bytes.count) bytes vs JSON \(json) bytes")
    }

    @Test("inspector summarises the bundle and prints the manifest")
    func inspector() throws {
        let bundle = try ModelBundle.decode(
            try BundleFactory.bundle(case: "lgb-30-l15-categorical").encode(
                signingKey: BundleFactory.key, keyID: BundleFactory.keyID))
        let summary = BundleInspector.summary(bundle)
        #expect(summary.contains("test-model v3"))
        #expect(summary.contains("lightgbm trees: 30 trees"))
        #expect(summary.contains("room office-3f"))
        #expect(summary.contains("key \(BundleFactory.keyID)"))
        let json = BundleInspector.manifestJSON(bundle)
        #expect(json.contains("\"modelID\" : \"test-model\""))
    }

    @Test("expiry, version and feature checks")
    func policyChecks() throws {
        let bundle = try BundleFactory.bundle(case: "xgb-d1-1", expires: BundleFactory.created + 3600)
        try bundle.checkExpiry(now: BundleFactory.created)
        #expect(throws: BundleError.self) { try bundle.checkExpiry(now: BundleFactory.created + 3600) }
        do { try bundle.checkExpiry(now: BundleFactory.created + 7200) } catch { #expect(error.reason == .expired) }
        try bundle.checkNewer(than: 2)
        do { try bundle.checkNewer(than: 3) } catch { #expect(error.reason == .notNewer) }
        try bundle.checkFeatures(["f0", "f1", "f2", "f3", "f4", "f5"])
        do { try bundle.checkFeatures(["f0"]) } catch { #expect(error.reason == .incompatible) }
    }

    @Test("exit codes are distinct and at least 10")
    func exitCodes() {
        let codes = BundleError.Reason.allCases.map(\.exitCode)
        #expect(Set(codes).count == codes.count)
        #expect(codes.allSatisfy { $0 >= 10 && $0 < 64 })
    }

    @Test("signing keys round trip through PREFIX.key and PREFIX.pub")
    func signingKeyFiles() throws {
        let dir = try temporaryDirectory("occ-keys")
        defer { try? FileManager.default.removeItem(at: dir) }
        let prefix = dir.appendingPathComponent("fleet").path
        let key = SigningKeys.generate()
        let id = try SigningKeys.save(key, prefix: prefix)
        #expect(id.count == 16)
        let mode = try FileManager.default.attributesOfItem(atPath: prefix + ".key")[.posixPermissions] as? NSNumber
        #expect(mode?.intValue == 0o600)
        let (readKey, readID) = try SigningKeys.readPrivateKey(path: prefix + ".key")
        #expect(readID == id && readKey.rawRepresentation == key.rawRepresentation)
        let trusted = try SigningKeys.readPublicKey(path: prefix + ".pub")
        #expect(trusted.keyID == id)
        #expect(throws: OccupantError.self) { try SigningKeys.save(key, prefix: prefix) }
        let bytes = BundleFactory.small().encode(signingKey: readKey, keyID: readID)
        try ModelBundle.decode(bytes).verify(trustedKeys: [trusted])
        let tampered = trusted.line.replacingOccurrences(of: id, with: "0000000000000000")
        #expect(throws: OccupantError.self) { try TrustedKey(parsing: tampered) }
    }

    /// Writes seed bundles for the fuzzer when OCCUPANT_FUZZ_SEEDS names a directory (see tools/fuzz/run.sh).
    @Test("write fuzz seeds", .enabled(if: ProcessInfo.processInfo.environment["OCCUPANT_FUZZ_SEEDS"] != nil))
    func fuzzSeeds() throws {
        let dir = URL(fileURLWithPath: ProcessInfo.processInfo.environment["OCCUPANT_FUZZ_SEEDS"] ?? "")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        var seeds: [(String, [UInt8])] = [
            ("small", BundleFactory.small().encode(signingKey: BundleFactory.key, keyID: BundleFactory.keyID))
        ]
        for name in ["xgb-d1-1", "lgb-1-l4", "lgb-30-l15-categorical", "logreg-6", "xgb-d3-20"] {
            seeds.append(
                (
                    name,
                    try BundleFactory.bundle(case: name).encode(
                        signingKey: BundleFactory.key, keyID: BundleFactory.keyID)
                ))
        }
        for (name, bytes) in seeds { try Data(bytes).write(to: dir.appendingPathComponent("\(name).occmodel")) }
    }
}
