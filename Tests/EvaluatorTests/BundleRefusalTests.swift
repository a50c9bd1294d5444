import Crypto
import Foundation
import OccupantCore
import OccupantTesting
import Testing

@testable import Evaluator

/// Decodes and verifies; returns the reason it was refused, or nil if it was accepted.
private func refusal(_ bytes: [UInt8]) -> BundleError.Reason? {
    do {
        try ModelBundle.decode(bytes).verify(trustedKeys: BundleFactory.trusted)
        return nil
    } catch {
        return error.reason
    }
}

@Suite("Bad bundles are refused with their reason", .ownThread)
struct BundleRefusalTests {
    let good = BundleFactory.small().encode(signingKey: BundleFactory.key, keyID: BundleFactory.keyID)

    @Test("the small bundle itself is accepted")
    func goodIsAccepted() throws {
        #expect(refusal(good) == nil)
        try ModelBundle.decode(good).checkGoldenVectors()
    }

    @Test("every truncation is refused")
    func truncated() {
        var reasons: [BundleError.Reason: Int] = [:]
        for length in 0..<good.count {
            let reason = refusal(Array(good[..<length]))
            #expect(reason != nil, "prefix of \(length) bytes was accepted")
            if let reason { reasons[reason, default: 0] += 1 }
        }
        // Most prefixes run out inside a length-prefixed section; a prefix that ends exactly at the signature
        // length byte is an unsigned bundle.
        #expect((reasons[.truncated] ?? 0) >= good.count - 300, "\(reasons)")
    }

    @Test("every single-bit flip is refused")
    func bitFlips() {
        var reasons: [BundleError.Reason: Int] = [:]
        for offset in 0..<good.count {
            var bytes = good
            bytes[offset] ^= UInt8(1 << (offset % 8))
            let reason = refusal(bytes)
            #expect(reason != nil, "flip at offset \(offset) was accepted")
            if let reason { reasons[reason, default: 0] += 1 }
        }
        print("bit flips over \(good.count) offsets: \(reasons.sorted { $0.key.rawValue < $1.key.rawValue })")
    }

    @Test("length fields set to huge values are refused cleanly")
    func hugeLengths() {
        for offset in [10, 11, 12, 13] {
            var bytes = good
            bytes[offset] = 0xff
            #expect(refusal(bytes) != nil)
        }
    }

    @Test("oversized, bad magic, unknown version, trailing data")
    func container() {
        #expect(refusal([UInt8](repeating: 0, count: ModelBundle.maximumSize + 1)) == .tooLarge)
        var magic = good
        magic[0] = UInt8(ascii: "X")
        #expect(refusal(magic) == .badMagic)
        var version = good
        version[8] = 3
        #expect(refusal(version) == .unsupportedFormatVersion)
        // A format-1 manifest in a format-2 container: the two must agree.
        var mismatched = good
        mismatched[8] = 2
        #expect(refusal(mismatched) == .malformedManifest)
        #expect(refusal(good + [0]) == .trailingData)
        var manifestTooLarge = good
        manifestTooLarge.replaceSubrange(10..<14, with: [0, 0, 0x50, 0]) // 5 MiB
        #expect(refusal(manifestTooLarge) == .tooLarge)
    }

    @Test("unsigned, untrusted key, wrong key")
    func signatures() throws {
        #expect(refusal(BundleFactory.small().encodeUnsigned()) == .unsigned)
        let other = SigningKeys.generate()
        #expect(
            refusal(BundleFactory.small().encode(signingKey: other, keyID: SigningKeys.keyID(for: other.publicKey)))
                == .untrustedKey)
        // Signed by another key but claiming ours.
        #expect(refusal(BundleFactory.small().encode(signingKey: other, keyID: BundleFactory.keyID)) == .badSignature)
    }

    @Test("expired and golden-vector mismatch")
    func activationChecks() throws {
        let expiring = try BundleFactory.bundle(case: "xgb-d1-1", expires: BundleFactory.created + 60)
        let bytes = expiring.encode(signingKey: BundleFactory.key, keyID: BundleFactory.keyID)
        #expect(throws: BundleError(.expired, "model test-model v3 expired at 2026-11-22T08:01:00.000Z")) {
            try ModelBundle.open(bytes, trustedKeys: BundleFactory.trusted, now: BundleFactory.created + 60)
        }
        var wrong = try BundleFactory.bundle(case: "xgb-d1-1")
        wrong.manifest.golden[7].probability += 1e-5
        let wrongBytes = wrong.encode(signingKey: BundleFactory.key, keyID: BundleFactory.keyID)
        do {
            _ = try ModelBundle.open(wrongBytes, trustedKeys: BundleFactory.trusted, now: BundleFactory.created)
            Issue.record("golden mismatch accepted")
        } catch {
            #expect(error.reason == .goldenMismatch)
            #expect(error.message.hasPrefix("golden[7]"))
        }
        let few = try BundleFactory.bundle(case: "xgb-d1-1", goldenCount: 31)
        #expect(throws: BundleError(.goldenMismatch, "31 golden vectors, at least 32 required")) {
            try few.checkGoldenVectors()
        }
    }

    @Test(
        "a validly signed body whose arrays point outside themselves is refused by structure",
        arguments: [
            ("child out of range", "tree 1 node 0", BundleFactory.small(left: [1, -1, -1, 9, -1, -1])),
            ("child in the next tree", "tree 0 node 0", BundleFactory.small(right: [3, -1, -1, 5, -1, -1])),
            ("cycle (child points to itself)", "tree 1 node 0", BundleFactory.small(left: [1, -1, -1, 3, -1, -1])),
            ("feature beyond the schema", "tree 1 node 0", BundleFactory.small(splitFeature: [0, -1, -1, 7, -1, -1])),
            ("last node is a split", "tree 1 node 2", BundleFactory.small(splitFeature: [0, -1, -1, 1, -1, 0])),
        ])
    func badStructure(label: String, location: String, bundle: ModelBundle) {
        let bytes = bundle.encode(signingKey: BundleFactory.key, keyID: BundleFactory.keyID)
        do {
            _ = try ModelBundle.decode(bytes)
            Issue.record("\(label): accepted")
        } catch {
            #expect(error.reason == .malformedBody, "\(label): \(error)")
            #expect(error.message.contains(location), "\(label): \(error)")
            #expect(!error.message.contains("\n"))
        }
    }

    @Test("manifest that disagrees with the body is refused")
    func manifestMismatch() {
        var bundle = BundleFactory.small()
        bundle.manifest.features = .raw(columns: ["only"])
        let bytes = bundle.encode(signingKey: BundleFactory.key, keyID: BundleFactory.keyID)
        #expect(refusal(bytes) == .malformedManifest)
    }

    @Test("a huge category-set index is refused, not trapped on (found by the fuzzer)")
    func hugeCategoryIndex() {
        let ensemble = TreeEnsemble(
            flavour: .lightgbm, featureCount: 2, baseMargin: 0, treeStart: [0], splitFeature: [0, -1, -1],
            value: [1e300, 0.25, -0.25], left: [1, -1, -1], right: [2, -1, -1],
            flags: [TreeEnsemble.NodeFlags.categorical.rawValue, 0, 0], categorySetStart: [0, 1], categoryWords: [5])
        var bundle = BundleFactory.small()
        bundle.model = .trees(ensemble)
        let bytes = bundle.encode(signingKey: BundleFactory.key, keyID: BundleFactory.keyID)
        #expect(
            throws: BundleError(
                .malformedBody, "body: tree ensemble: tree 0 node 0: category set 1e+300 does not exist (1 sets)")
        ) {
            _ = try ModelBundle.decode(bytes)
        }
    }
}
