import Foundation
import OccupantCore

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
