import Foundation
import OccupantTesting
import Testing

/// `occupant model verify`: signature and golden vectors always, a firmware profile only when one is asked for.
@Suite struct ModelVerifyTests {
    @Test func aProfileIsCheckedOnlyWhenGivenAndThenNamed() async throws {
        let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Fixtures/models").path
        let dir = try temporaryDirectory("occupant-verify")
        let key = dir.appendingPathComponent("signer").path
        #expect(try await ChildProcess.run(["keys", "generate", "--out", key]).status == 0)
        let bundle = dir.appendingPathComponent("raw.occmodel").path
        let imported = try await ChildProcess.run([
            "model", "import", "--logistic", "\(fixtures)/logreg-6.logistic.json",
            "--features", "f0,f1,f2,f3,f4,f5", "--signing-key", key + ".key", "--out", bundle,
            "--model-version", "3",
        ])
        try #require(imported.status == 0, "\(imported.stderr)")

        // Raw columns f0…f5 fit no shipped profile, yet without --profile the bundle verifies.
        let plain = try await ChildProcess.run(["model", "verify", bundle, "--trusted-key", key + ".pub"])
        #expect(plain.status == 0, "\(plain.stderr)")
        #expect(plain.stdout.hasPrefix("ok: logreg-6@3 signed by "), "\(plain.stdout)")
        #expect(
            plain.stdout.hasSuffix("golden vectors reproduced, no profile checked (give --profile)\n"),
            "\(plain.stdout)")

        let withProfile = try await ChildProcess.run([
            "model", "verify", bundle, "--trusted-key", key + ".pub", "--profile", "thermostat-mcu",
        ])
        #expect(withProfile.status == 22)
        #expect(withProfile.stderr.contains("profile thermostat-mcu"), "\(withProfile.stderr)")
    }

    @Test func importIntoAMissingFolderFailsFirst() async throws {
        let result = try await ChildProcess.run([
            "model", "import", "--logistic", "/nonexistent/m.json", "--features", "a", "--signing-key",
            "/nonexistent/k.key",
            "--out", "/nonexistent/dir/m.occmodel",
        ])
        #expect(result.status == 2)
        #expect(result.stderr == "error: --out /nonexistent/dir/m.occmodel: no folder /nonexistent/dir\n")
    }
}
