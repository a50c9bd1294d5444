import Evaluator
import OccupantCore

#if canImport(Glibc)
    import Glibc
#endif

/// Installed model bundles under `<stateDirectory>/models`: the bundles by version, and two pointer files naming the
/// active and the previous one.
///
/// Install is atomic and survives power loss at any point: the bundle is written to a temporary file, fsynced and
/// renamed into place (then the folder is fsynced). The switch of both pointers is then committed as one file,
/// `pointers.next` (written the same way), applied to `active` and `previous`, and removed. A reader takes the
/// pointers from `pointers.next` while it exists, so it sees either the old pair or the new one — never
/// `previous == active` — and a pointer only ever names a complete bundle. `open` finishes a switch a kill cut short.
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

    /// The slot for the shadow bundle: `<models>/shadow`, a store of its own (its own `active` pointer), never the
    /// active model's.
    public var shadowStore: ModelStore {
        ModelStore(stateDirectory: stateDirectory, directory: directory + "/shadow", files: files)
    }

    private init(stateDirectory: String, directory: String, files: any FileSystem) {
        self.stateDirectory = stateDirectory
        self.directory = directory
        self.files = files
    }

    /// The store after a restart: the temporary files of an interrupted install removed and an interrupted
    /// pointer switch finished. Only for the process that owns the store (the gateway, not a CLI run beside it).
    public static func open(stateDirectory: String, files: any FileSystem = LocalFileSystem()) -> ModelStore {
        let store = ModelStore(stateDirectory: stateDirectory, files: files)
        store.removeLeftovers()
        store.finishSwitch()
        return store
    }

    /// The committed pointer switch not yet applied: `active` and `previous` on two lines.
    static let switchFile = "pointers.next"

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
    public var activeFile: String? { pointers.active }
    public var previousFile: String? { pointers.previous }

    /// Both pointers: from a committed switch while one is pending, else from their files.
    var pointers: (active: String?, previous: String?) {
        if let pending = pendingSwitch() { return pending }
        return (readPointer("active"), readPointer("previous"))
    }

    public func path(of file: String) -> String { directory + "/" + file }

    /// Writes `bytes` as the bundle for `modelID`@`version` and makes it active; the old active one becomes previous.
    @discardableResult
    public func install(_ bytes: [UInt8], modelID: String, version: Int) throws(OccupantError) -> String {
        try makeDirectory()
        let file = "\(safeName(modelID))-v\(version).occmodel"
        try files.writeAtomically(bytes, to: path(of: file))
        let (old, previous) = pointers
        if let old, old != file {
            try commitSwitch(active: file, previous: old)
        } else {
            // The same file again (or the first install): the previous one stays, unless it is this file.
            try commitSwitch(active: file, previous: previous == file ? nil : previous)
        }
        return file
    }

    /// Makes the previous bundle active again (the only way back to an older version); the two swap.
    public func rollback() throws(OccupantError) -> String {
        let (current, previous) = pointers
        guard let previous else {
            throw OccupantError(.model, "nothing to roll back to: no previous model in \(directory)")
        }
        try commitSwitch(active: previous, previous: current == previous ? nil : current)
        return previous
    }

    /// Takes `file` out of the active slot (a model a guard rolled back): the previous bundle becomes active, with no
    /// previous of its own (so `rollback` cannot bring the failed one back by accident), or, without a previous one,
    /// no bundle is active and the rule decides. The file stays on disk. Nothing changes unless `file` is active.
    public func setAside(_ file: String) throws(OccupantError) {
        let (active, previous) = pointers
        guard active == file else { return }
        if let previous, previous != file {
            try commitSwitch(active: previous, previous: nil)
        } else {
            try files.remove(path(of: Self.switchFile))
            try files.remove(path(of: "active"))
            try files.remove(path(of: "previous"))
        }
    }

    /// Every installed bundle, newest version first.
    public func list() -> [Entry] {
        guard let names = try? files.list(directory) else { return [] }
        let active = activeFile
        let previous = previousFile
        var entries: [Entry] = []
        for name in names {
            guard name.hasSuffix(".occmodel"), !name.hasPrefix("."),
                let dash = name.ranges(of: "-v").last,
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

    /// Finishes a pointer switch a kill or power cut interrupted (nothing when none is pending).
    public func finishSwitch() {
        guard let bytes = try? files.read(path(of: Self.switchFile)) else { return }
        if let pending = pendingSwitch(bytes), let active = pending.active {
            try? applySwitch(active: active, previous: pending.previous)
        } else {
            try? files.remove(path(of: Self.switchFile)) // names a bundle no longer there: the pointers stand
        }
    }

    /// Commits the new pair in one atomic write, then applies it to the two pointer files.
    private func commitSwitch(active: String, previous: String?) throws(OccupantError) {
        precondition(active != previous, "a switch to previous == active")
        let text = active + "\n" + (previous ?? "") + "\n"
        try files.writeAtomically(Array(text.utf8), to: path(of: Self.switchFile))
        try applySwitch(active: active, previous: previous)
    }

    private func applySwitch(active: String, previous: String?) throws(OccupantError) {
        try writePointer("active", active)
        if let previous { try writePointer("previous", previous) } else { try files.remove(path(of: "previous")) }
        try files.remove(path(of: Self.switchFile))
    }

    private func pendingSwitch() -> (active: String?, previous: String?)? {
        guard let bytes = try? files.read(path(of: Self.switchFile)) else { return nil }
        return pendingSwitch(bytes)
    }

    /// The pair in a `pointers.next`, when its active bundle is there.
    private func pendingSwitch(_ bytes: [UInt8]) -> (active: String?, previous: String?)? {
        let lines = bytes.prefix(1023).split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false)
        guard lines.count >= 2, let active = pointerName(lines[0]) else { return nil }
        let previous = pointerName(lines[1])
        return (active, previous == active ? nil : previous)
    }

    private func makeDirectory() throws(OccupantError) {
        try files.makeDirectories(directory)
    }

    private func readPointer(_ name: String) -> String? {
        guard let bytes = try? files.read(path(of: name)) else { return nil }
        let line = bytes.prefix(511).split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false).first ?? []
        return pointerName(line)
    }

    /// A bundle file name in this folder that exists, from one pointer line.
    private func pointerName(_ line: ArraySlice<UInt8>) -> String? {
        let text = String(decoding: line, as: UTF8.self).trimmingWhitespaceAndNewlines()
        // A pointer names a file in this folder, nothing else.
        guard !text.isEmpty, !text.contains("/" as Character), access(path(of: text), R_OK) == 0 else { return nil }
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
