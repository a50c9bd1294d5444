import Evaluator
import OccupantCore

/// Signed bundles on disk, content-addressed: `<root>/<sha256>.occmodel`. Names are only ever built from a
/// validated SHA-256, so no request data can reach a path outside `root`.
public struct ArtifactStore: Sendable {
    public let root: String
    /// Where the artifacts are written.
    public let files: any FileSystem

    public init(root: String, files: any FileSystem = LocalFileSystem()) throws(OccupantError) {
        self.root = root
        self.files = files
        do throws(OccupantError) {
            try files.makeDirectories(root)
        } catch {
            throw OccupantError(
                .io, "cannot create the artifact folder \(root): \(error.fileReason)", errno: error.errno)
        }
    }

    public func path(sha256: String) -> String? {
        let sha = sha256.lowercased()
        guard isSHA256Hex(sha) else { return nil }
        return "\(root)/\(sha).occmodel"
    }

    /// Stores `bytes` under their hash (written to a temporary file, synced, renamed, folder synced) and returns
    /// the hash.
    @discardableResult
    public func put(_ bytes: [UInt8]) throws(OccupantError) -> String {
        let sha = sha256Hex(bytes)
        let target = path(sha256: sha)!
        if files.exists(target) { return sha }
        do throws(OccupantError) {
            try files.writeAtomically(bytes, to: target)
        } catch {
            throw OccupantError(.io, "cannot store artifact \(sha): \(error.description)", errno: error.errno)
        }
        return sha
    }

    /// The artifact's bytes, checked against its name (a damaged file is refused, not served).
    public func get(sha256: String) throws(OccupantError) -> [UInt8] {
        guard let p = path(sha256: sha256) else { throw OccupantError(.usage, "'\(sha256)' is not a SHA-256") }
        let bytes: [UInt8]
        do throws(OccupantError) {
            bytes = try files.read(p)
        } catch {
            if error.isNoSuchFile {
                throw OccupantError(.io, "artifact \(sha256) is missing from \(root)", errno: error.errno)
            }
            throw error
        }
        guard sha256Hex(bytes) == sha256.lowercased() else {
            throw OccupantError(.io, "artifact \(sha256) is damaged on disk (hash differs)")
        }
        return bytes
    }
}
