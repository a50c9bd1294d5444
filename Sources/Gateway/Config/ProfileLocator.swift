import OccupantCore
import Sensors

#if canImport(Glibc)
import Glibc
#endif

/// Finds a firmware profile by path or by the name of a shipped profile.
///
/// A name `thermostat-mcu` is looked up as `NAME.yaml` in `$OCCUPANT_PROFILES`, next to the configuration file,
/// in `/etc/occupant/firmware-profiles`, `/usr/share/occupant/firmware-profiles`, and in a `firmware-profiles`
/// folder above the executable (a source checkout).
public enum ProfileLocator {
    public static func resolve(_ reference: String, configPath: String? = nil) -> String? {
        if reference.contains("/") || reference.hasSuffix(".yaml") || reference.hasSuffix(".yml") {
            if exists(reference) { return reference }
            if let configPath, !reference.hasPrefix("/") {
                let candidate = directory(of: configPath) + "/" + reference
                if exists(candidate) { return candidate }
            }
            return nil
        }
        var folders: [String] = []
        if let env = getenv("OCCUPANT_PROFILES") { folders.append(String(cString: env)) }
        if let configPath { folders.append(directory(of: configPath)); folders.append(directory(of: configPath) + "/firmware-profiles") }
        folders += ["/etc/occupant/firmware-profiles", "/usr/share/occupant/firmware-profiles"]
        var dir = directory(of: executablePath())
        for _ in 0..<5 {
            folders.append(dir + "/firmware-profiles")
            folders.append(dir + "/share/occupant/firmware-profiles")
            dir = directory(of: dir)
        }
        for folder in folders {
            let candidate = folder + "/" + reference + ".yaml"
            if exists(candidate) { return candidate }
        }
        return nil
    }

    /// Loads the profile, or explains where it looked.
    public static func load(_ reference: String, configPath: String? = nil) throws -> FirmwareProfile {
        guard let path = resolve(reference, configPath: configPath) else {
            throw OccupantError(
                .profile,
                "profile '\(reference)' not found (give a file path, or the name of a file in firmware-profiles/)")
        }
        return try FirmwareProfile.load(path: path)
    }

    static func exists(_ path: String) -> Bool { access(path, R_OK) == 0 }

    static func directory(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        return slash == path.startIndex ? "/" : String(path[..<slash])
    }

    static func executablePath() -> String {
        var buffer = [CChar](repeating: 0, count: 4096)
        let n = readlink("/proc/self/exe", &buffer, buffer.count - 1)
        guard n > 0 else { return "." }
        return string(fromCBuffer: buffer)
    }
}
