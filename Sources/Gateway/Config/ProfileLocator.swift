import OccupantCore
import Sensors

#if canImport(Glibc)
    import Glibc
#endif

/// Finds a firmware profile by path or by the name of a shipped profile.
///
/// A name `thermostat-mcu` is looked up as `NAME.yaml` in these folders, in order (`searchFolders`):
/// 1. each folder of `$OCCUPANT_PROFILES` (colon-separated);
/// 2. the configuration file's folder and its `firmware-profiles`;
/// 3. `/etc/occupant/firmware-profiles`;
/// 4. next to the executable: `../share/occupant/firmware-profiles` (an install under a prefix, e.g. `/usr/local`),
///    then `/usr/local/share/…` and `/usr/share/occupant/firmware-profiles`;
/// 5. a `firmware-profiles` folder in the executable's folder or one of the four above it (a source checkout, whose
///    binary sits in `.build/<triple>/debug`).
///
/// When nothing is found the error lists every folder it tried.
public enum ProfileLocator {
    /// The path of the profile `reference` names, or nil.
    public static func resolve(_ reference: String, configPath: String? = nil) -> String? {
        if isPath(reference) {
            if exists(reference) { return reference }
            if let configPath, !reference.hasPrefix("/") {
                let candidate = directory(of: configPath) + "/" + reference
                if exists(candidate) { return candidate }
            }
            return nil
        }
        for folder in searchFolders(configPath: configPath) {
            let candidate = folder + "/" + reference + ".yaml"
            if exists(candidate) { return candidate }
        }
        return nil
    }

    /// The path of the profile `reference` names; the error says where it looked.
    public static func locate(_ reference: String, configPath: String? = nil) throws(OccupantError) -> String {
        if let path = resolve(reference, configPath: configPath) { return path }
        throw notFound(reference, configPath: configPath)
    }

    /// Loads the profile, or explains where it looked.
    public static func load(_ reference: String, configPath: String? = nil) throws -> FirmwareProfile {
        try FirmwareProfile.load(path: try locate(reference, configPath: configPath))
    }

    /// A file path (`./p.yaml`, `boards/p.yml`), not a profile name.
    public static func isPath(_ reference: String) -> Bool {
        reference.contains("/" as Character) || reference.hasSuffix(".yaml") || reference.hasSuffix(".yml")
    }

    /// The folders a profile name is looked for in, in order, without repeats.
    public static func searchFolders(
        configPath: String? = nil, environment: String? = environmentFolders(), executable: String = executablePath()
    ) -> [String] {
        var folders: [String] = []
        func add(_ folder: String) { if !folders.contains(folder) { folders.append(folder) } }
        for folder in (environment ?? "").split(separator: ":") where !folder.isEmpty { add(String(folder)) }
        if let configPath {
            add(directory(of: configPath))
            add(directory(of: configPath) + "/firmware-profiles")
        }
        add("/etc/occupant/firmware-profiles")
        let binDirectory = directory(of: executable)
        add(directory(of: binDirectory) + "/share/occupant/firmware-profiles")
        add("/usr/local/share/occupant/firmware-profiles")
        add("/usr/share/occupant/firmware-profiles")
        var dir = binDirectory
        for _ in 0..<5 {
            add(dir + "/firmware-profiles")
            let parent = directory(of: dir)
            if parent == dir { break }
            dir = parent
        }
        return folders
    }

    /// `$OCCUPANT_PROFILES`, or nil when it is not set (or empty).
    public static func environmentFolders() -> String? {
        guard let value = getenv("OCCUPANT_PROFILES").map({ String(cString: $0) }), !value.isEmpty else { return nil }
        return value
    }

    static func notFound(_ reference: String, configPath: String?) -> OccupantError {
        if isPath(reference) {
            return OccupantError(.profile, "profile '\(reference)' not found: no readable file at that path")
        }
        let environment = environmentFolders() == nil ? "; OCCUPANT_PROFILES is not set" : ""
        let folders = searchFolders(configPath: configPath).joined(separator: ", ")
        return OccupantError(
            .profile,
            "profile '\(reference)' not found: looked for \(reference).yaml in \(folders)\(environment)"
                + " (give a file path, or set OCCUPANT_PROFILES to the folder of the shipped firmware-profiles)")
    }

    static func exists(_ path: String) -> Bool { access(path, R_OK) == 0 }

    static func directory(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        return slash == path.startIndex ? "/" : String(path[..<slash])
    }

    /// The running executable, symbolic links resolved.
    public static func executablePath() -> String {
        var buffer = [CChar](repeating: 0, count: 4096)
        let n = readlink("/proc/self/exe", &buffer, buffer.count - 1)
        guard n > 0 else { return "." }
        return string(fromCBuffer: buffer)
    }
}
