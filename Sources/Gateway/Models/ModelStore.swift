import Evaluator
import OccupantCore

#if canImport(Glibc)
    import Glibc
#endif

/// Installed model bundles under `<stateDirectory>/models`: the bundles by version, and two pointer files naming the
/// active and the previous one.
///
/// Install is atomic and survives power loss at any point: the bundle is written to a temporary file, fsynced and
/// renamed into place (then the folder is fsynced) before the `active` pointer is replaced the same way. A reader
/// therefore sees either the old pointer or the new one, and a pointer only ever names a complete bundle.
public struct ModelStore: Sendable {
    public let stateDirectory: String
    public let directory: String
    /// Where the bundles and pointers are written.
    public let files: any FileSystem

    public init(stateDirectory: String, files: any FileSystem = LocalFileSystem()) {
        self.stateDirectory = stateDirectory
        self.files = files
        directory = stateDirectory + "/models"
    }

    /// The running gateway's control socket, beside the store.
    public var controlSocketPath: String { stateDirectory + "/control.sock" }

    /// One installed bundle.
    public struct Entry: Sendable, Equatable {
        public var file: String
        public var modelID: String
        public var version: Int
        public var isActive: Bool
        public var isPrevious: Bool
    }

    /// The active bundle's file name, if any.
    public var activeFile: String? { readPointer("active") }
    public var previousFile: String? { readPointer("previous") }

    public func path(of file: String) -> String { directory + "/" + file }

    /// Writes `bytes` as the bundle for `modelID`@`version` and makes it active; the old active one becomes previous.
    @discardableResult
    public func install(_ bytes: [UInt8], modelID: String, version: Int) throws(OccupantError) -> String {
        try makeDirectory()
        let file = "\(safeName(modelID))-v\(version).occmodel"
        try files.writeAtomically(bytes, to: path(of: file))
        let old = activeFile
        if let old, old != file { try writePointer("previous", old) }
        try writePointer("active", file)
        return file
    }

    /// Makes the previous bundle active again (the only way back to an older version); the two swap.
    public func rollback() throws(OccupantError) -> String {
        guard let previous = previousFile else {
            throw OccupantError(.model, "nothing to roll back to: no previous model in \(directory)")
        }
        let current = activeFile
        try writePointer("active", previous)
        if let current { try writePointer("previous", current) } else { try files.remove(path(of: "previous")) }
        return previous
    }

    /// Every installed bundle, newest version first.
    public func list() -> [Entry] {
        guard let names = try? files.list(directory) else { return [] }
        let active = activeFile
        let previous = previousFile
        var entries: [Entry] = []
        for name in names {
            guard name.hasSuffix(".occmodel"), !name.hasPrefix("."),
                let dash = name.range(of: "-v", options: .backwards),
                let version = Int(name[dash.upperBound...].dropLast(".occmodel".count))
            else { continue }
            entries.append(
                Entry(
                    file: name, modelID: String(name[..<dash.lowerBound]), version: version,
                    isActive: name == active, isPrevious: name == previous))
        }
        return entries.sorted { ($0.version, $0.file) > ($1.version, $1.file) }
    }

    // MARK: Files

    /// Deletes the temporary files an interrupted install left (never taken for a bundle: they start with a dot).
    public func removeLeftovers() {
        for name in (try? files.list(directory)) ?? [] where name.hasPrefix(LocalFileSystem.temporaryPrefix) {
            try? files.remove(path(of: name))
        }
    }

    private func makeDirectory() throws(OccupantError) {
        try files.makeDirectories(directory)
    }

    private func readPointer(_ name: String) -> String? {
        guard let bytes = try? files.read(path(of: name)) else { return nil }
        let line = bytes.prefix(511).split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false).first ?? []
        let text = String(decoding: line, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        // A pointer names a file in this folder, nothing else.
        guard !text.isEmpty, !text.contains("/"), access(path(of: text), R_OK) == 0 else { return nil }
        return text
    }

    private func writePointer(_ name: String, _ file: String) throws(OccupantError) {
        try files.writeAtomically(Array((file + "\n").utf8), to: path(of: name))
    }

    private func safeName(_ id: String) -> String {
        String(id.map { $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" || $0 == "." ? $0 : "_" })
    }
}

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif
