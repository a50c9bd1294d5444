import Foundation
import OccupantCore

/// `--simulate SCENARIO` names the built-in `day` or a CSV file to replay. A file that is not there is a
/// configuration error (exit 2, one line), found before anything starts.
func checkScenario(_ scenario: String) throws {
    guard scenario != "day" else { return }
    var isDirectory: ObjCBool = false
    guard FileManager.default.fileExists(atPath: scenario, isDirectory: &isDirectory), !isDirectory.boolValue else {
        throw report(OccupantError(
            .configuration, "--simulate \(scenario): no such replay file (give 'day' or a CSV file with a time column)"))
    }
}
