import Foundation
import Logging
import OccupantCore

/// A configuration file with clear tokens or passwords that any local user can read is warned about (private keys
/// are checked by `SecretFile`).
enum SecretFiles {
    /// Logs a warning when the configuration file holds clear tokens or passwords and every user can read it.
    static func warnIfExposed(config path: String?, logger: Logger) {
        guard let path, let mode = SecretFile.mode(path), mode & 0o004 != 0,
            let text = try? String(contentsOfFile: path, encoding: .utf8),
            text.range(of: #"\b(adminToken|token|password)\s*:"#, options: .regularExpression) != nil
        else { return }
        logger.warning(
            "\(path) holds tokens or passwords and is readable by every user (mode \(String(mode & 0o777, radix: 8))); chmod 640 it, or use adminTokenSha256/tokenSha256"
        )
    }
}
