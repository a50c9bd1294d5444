import Foundation
import Logging
import OccupantCore

/// Permissions of the files that hold the server's secrets: a private key any local user can read is refused, a
/// configuration file with clear tokens or passwords that any local user can read is warned about.
enum SecretFiles {
    /// The permission bits of `path`, or nil when it cannot be inspected (reading it reports that later).
    static func mode(_ path: String) -> Int? {
        (try? FileManager.default.attributesOfItem(atPath: path))?[.posixPermissions] as? Int
    }

    /// Throws when `path` (a private key, named by `key`) is readable by other users.
    static func requirePrivate(_ path: String, key: String) throws(OccupantError) {
        guard let mode = mode(path), mode & 0o004 != 0 else { return }
        throw OccupantError(
            .configuration,
            "\(key): \(path) is readable by every user (mode \(String(mode & 0o777, radix: 8))); chmod 600 it")
    }

    /// Logs a warning when the configuration file holds clear tokens or passwords and every user can read it.
    static func warnIfExposed(config path: String?, logger: Logger) {
        guard let path, let mode = mode(path), mode & 0o004 != 0,
            let text = try? String(contentsOfFile: path, encoding: .utf8),
            text.range(of: #"\b(adminToken|token|password)\s*:"#, options: .regularExpression) != nil
        else { return }
        logger.warning(
            "\(path) holds tokens or passwords and is readable by every user (mode \(String(mode & 0o777, radix: 8))); chmod 640 it, or use adminTokenSha256/tokenSha256"
        )
    }
}
