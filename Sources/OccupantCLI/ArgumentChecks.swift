import Foundation
import OccupantCore

/// `--simulate SCENARIO` names the built-in `day` or a CSV file to replay. A file that is not there is a
/// configuration error (exit 2, one line), found before anything starts.
func checkScenario(_ scenario: String) throws {
    guard scenario != "day" else { return }
    var isDirectory: ObjCBool = false
    guard FileManager.default.fileExists(atPath: scenario, isDirectory: &isDirectory), !isDirectory.boolValue else {
        throw report(
            OccupantError(
                .configuration,
                "--simulate \(scenario): no such replay file (give 'day' or a CSV file with a time column)"))
    }
}

/// The folder an output file goes into must exist (and be a folder) before any long work starts.
func checkOutputFolder(_ path: String) throws {
    let folder = (path as NSString).deletingLastPathComponent
    let directory = folder.isEmpty ? "." : folder
    var isDirectory: ObjCBool = false
    guard FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory), isDirectory.boolValue else {
        throw OccupantError(.configuration, "--out \(path): no folder \(directory)")
    }
    guard FileManager.default.isWritableFile(atPath: directory) else {
        throw OccupantError(.configuration, "--out \(path): cannot write into \(directory)")
    }
}
