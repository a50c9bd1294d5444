import OccupantCore

/// A model bundle (`.occmodel`): manifest JSON, binary model body and an Ed25519 signature in one file.
///
/// Container, all little-endian:
/// ```
/// 8 bytes  "OCCMODEL"
/// u16      format version (1; 2 when the manifest carries a calibrator)
/// u32 + M  manifest JSON (M ≤ 4 MiB)
/// u32 + B  body (see ModelBody)
/// u8  + K  signing key id (ASCII, K ≤ 64; 0 when unsigned)
/// u8  + S  signature (S = 64, Ed25519 over every byte before this field; 0 when unsigned)
/// ```
/// Nothing may follow the signature; the whole file is at most 16 MiB.
public struct ModelBundle: Sendable {
    public static let magic = Array("OCCMODEL".utf8)
    /// The newest format this build reads and writes; it writes the oldest that holds the bundle (1 without a
    /// calibrator), so gateways on older builds keep loading uncalibrated bundles.
    public static let formatVersion: UInt16 = 2
    public static let oldestFormatVersion: UInt16 = 1

    /// The format this bundle needs.
    var requiredFormatVersion: UInt16 { manifest.calibration == nil ? 1 : 2 }
    public static let maximumSize = 16 << 20
    public static let maximumManifestSize = 4 << 20

    public var manifest: BundleManifest
    public var model: Model
    /// The key id the bundle says it was signed with (nil when built in memory or unsigned).
    public internal(set) var keyID: String?
    /// The 64-byte signature (nil when built in memory or unsigned).
    public internal(set) var signature: [UInt8]?
    /// The bytes the signature covers, as read.
    var signedBytes: [UInt8] = []

    public init(manifest: BundleManifest, model: Model) {
        self.manifest = manifest
        self.model = model
    }

    /// Manifest and body bytes followed by the key id, i.e. everything the signature covers.
    func signedPrefix(keyID: String) -> [UInt8] {
        var w = ByteWriter()
        var manifest = manifest
        manifest.formatVersion = Int(requiredFormatVersion)
        w.raw(Self.magic)
        w.u16(requiredFormatVersion)
        w.section(ManifestCoding.encode(manifest))
        w.section(ModelBody.encode(model))
        let id = Array(keyID.utf8.prefix(64))
        w.u8(UInt8(id.count))
        w.raw(id)
        return w.bytes
    }

    /// The bundle without a signature (gateways refuse it; for tests and tooling).
    public func encodeUnsigned() -> [UInt8] {
        signedPrefix(keyID: "") + [0]
    }

    /// Parses untrusted bytes without trusting them: sizes are bounded, every count is checked against the bytes
    /// left, the manifest and body are validated. Does not check the signature (see `verify(trustedKeys:)`).
    public static func decode(_ bytes: [UInt8]) throws(BundleError) -> ModelBundle {
        guard bytes.count <= maximumSize else {
            throw BundleError(.tooLarge, "\(bytes.count) bytes, at most \(maximumSize) accepted")
        }
        var r = ByteReader(bytes[...], reason: .truncated, context: "bundle")
        guard bytes.count >= magic.count else {
            throw BundleError(.truncated, "\(bytes.count) bytes, shorter than the header")
        }
        guard Array(try r.take(magic.count, "magic")) == magic else {
            throw BundleError(.badMagic, "not a model bundle (the file does not start with OCCMODEL)")
        }
        let version = try r.u16("format version")
        guard (oldestFormatVersion...formatVersion).contains(version) else {
            throw BundleError(
                .unsupportedFormatVersion,
                "format version \(version), this build reads \(oldestFormatVersion)–\(formatVersion)")
        }
        let manifestLength = Int(try r.u32("manifest length"))
        guard manifestLength <= maximumManifestSize else {
            throw BundleError(.tooLarge, "manifest of \(manifestLength) bytes, at most \(maximumManifestSize) accepted")
        }
        let manifestBytes = try r.take(manifestLength, "manifest")
        let bodyLength = Int(try r.u32("body length"))
        let bodyBytes = try r.take(bodyLength, "body")
        let keyLength = Int(try r.u8("key id length"))
        let keyBytes = try r.take(keyLength, "key id")
        let signedEnd = r.offset
        let signatureLength = Int(try r.u8("signature length"))
        let signatureBytes = try r.take(signatureLength, "signature")
        guard r.remaining == 0 else { throw BundleError(.trailingData, "\(r.remaining) bytes after the signature") }
        guard keyLength <= 64, keyBytes.allSatisfy({ $0 > 0x20 && $0 < 0x7f }) else {
            throw BundleError(.untrustedKey, "key id is not 1–64 printable ASCII characters")
        }
        guard signatureLength == 0 || signatureLength == 64 else {
            throw BundleError(.badSignature, "signature of \(signatureLength) bytes, Ed25519 signatures have 64")
        }
        let model = try ModelBody.decode(bodyBytes)
        let manifest = try BundleManifest.decode(manifestBytes)
        try manifest.validate(for: model, container: Int(version))
        var bundle = ModelBundle(manifest: manifest, model: model)
        if signatureLength > 0 {
            bundle.keyID = String(decoding: keyBytes, as: UTF8.self)
            bundle.signature = Array(signatureBytes)
            bundle.signedBytes = Array(bytes[..<signedEnd])
        }
        return bundle
    }

    /// Recomputes every golden vector with this evaluator; throws `.goldenMismatch` naming the worst row if any
    /// differs by more than `tolerance`, or if there are fewer than `BundleManifest.minimumGoldenVectors`.
    public func checkGoldenVectors(tolerance: Double = 1e-6) throws(BundleError) {
        let golden = manifest.golden
        guard golden.count >= BundleManifest.minimumGoldenVectors else {
            throw BundleError(
                .goldenMismatch,
                "\(golden.count) golden vectors, at least \(BundleManifest.minimumGoldenVectors) required")
        }
        let check = GoldenVectors.crossCheck(
            model: model, rows: golden.map(\.features), expected: golden.map(\.probability), tolerance: tolerance)
        if !check.passed {
            throw BundleError(
                .goldenMismatch,
                "golden[\(check.worstRow)]: computed \(check.computed), bundle says \(check.expected) "
                    + "(|error| \(check.error) > \(tolerance))")
        }
    }

    /// Throws `.expired` when the manifest's `expires` is at or before `now`.
    public func checkExpiry(now: Instant) throws(BundleError) {
        if let expires = manifest.expiresAt, expires <= now {
            throw BundleError(.expired, "model \(manifest.modelID) v\(manifest.version) expired at \(expires.iso8601)")
        }
    }

    /// Throws `.notNewer` unless this bundle's version is greater than `installedVersion`.
    public func checkNewer(than installedVersion: Int) throws(BundleError) {
        guard manifest.version > installedVersion else {
            throw BundleError(
                .notNewer,
                "model \(manifest.modelID) v\(manifest.version) is not newer than the installed v\(installedVersion)")
        }
    }

    /// Throws `.incompatible` unless the manifest's features are exactly `featureNames`, in order.
    public func checkFeatures(_ featureNames: [String]) throws(BundleError) {
        let names = manifest.features.names
        guard names == featureNames else {
            throw BundleError(
                .incompatible,
                "model reads [\(names.joined(separator: ", "))], expected [\(featureNames.joined(separator: ", "))]")
        }
    }
}
