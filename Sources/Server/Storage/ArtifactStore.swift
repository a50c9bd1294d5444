import Evaluator
import Foundation
import OccupantCore

/// Signed bundles on disk, content-addressed: `<root>/<sha256>.occmodel`. Names are only ever built from a
/// validated SHA-256, so no request data can reach a path outside `root`.
public struct ArtifactStore: Sendable {
    public let root: String

    public init(root: String) throws(OccupantError) {
        self.root = root
        do {
            try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        } catch {
            throw OccupantError(.io, "cannot create the artifact folder \(root): \(describeFileError(error))")
        }
    }

    public func path(sha256: String) -> String? {
        let sha = sha256.lowercased()
        guard isSHA256Hex(sha) else { return nil }
        return "\(root)/\(sha).occmodel"
    }

    /// Stores `bytes` under their hash (written to a temporary file, synced, renamed) and returns the hash.
    @discardableResult
    public func put(_ bytes: [UInt8]) throws(OccupantError) -> String {
        let sha = sha256Hex(bytes)
        let target = path(sha256: sha)!
        if FileManager.default.fileExists(atPath: target) { return sha }
        let temporary = "\(root)/.tmp-\(sha)-\(UInt32.random(in: 0...UInt32.max))"
        do {
            let url = URL(fileURLWithPath: temporary)
            try Data(bytes).write(to: url)
            let handle = try FileHandle(forUpdating: url)
            try handle.synchronize()
            try handle.close()
            guard rename(temporary, target) == 0 else {
                throw OccupantError(.io, "rename into \(target): \(String(cString: strerror(errno)))")
            }
        } catch let error as OccupantError {
            unlink(temporary)
            throw error
        } catch {
            unlink(temporary)
            throw OccupantError(.io, "cannot store artifact \(sha): \(describeFileError(error))")
        }
        return sha
    }

    /// The artifact's bytes, checked against its name (a damaged file is refused, not served).
    public func get(sha256: String) throws(OccupantError) -> [UInt8] {
        guard let p = path(sha256: sha256) else { throw OccupantError(.usage, "'\(sha256)' is not a SHA-256") }
        guard let data = FileManager.default.contents(atPath: p) else { throw OccupantError(.io, "artifact \(sha256) is missing from \(root)") }
        let bytes = [UInt8](data)
        guard sha256Hex(bytes) == sha256.lowercased() else { throw OccupantError(.io, "artifact \(sha256) is damaged on disk (hash differs)") }
        return bytes
    }
}
