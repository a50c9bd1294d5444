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

    public init(stateDirectory: String) {
        self.stateDirectory = stateDirectory
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
        try writeAtomically(bytes, to: path(of: file))
        let old = activeFile
        if let old, old != file { try writePointer("previous", old) }
        try writePointer("active", file)
        return file
    }

    /// Makes the previous bundle active again (the only way back to an older version); the two swap.
    public func rollback() throws(OccupantError) -> String {
        guard let previous = previousFile else { throw OccupantError(.model, "nothing to roll back to: no previous model in \(directory)") }
        let current = activeFile
        try writePointer("active", previous)
        if let current { try writePointer("previous", current) } else { unlink(path(of: "previous")) }
        return previous
    }

    /// Every installed bundle, newest version first.
    public func list() -> [Entry] {
        guard let dir = opendir(directory) else { return [] }
        defer { closedir(dir) }
        let active = activeFile, previous = previousFile
        var entries: [Entry] = []
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
            }
            guard name.hasSuffix(".occmodel"), !name.hasPrefix("."),
                let dash = name.range(of: "-v", options: .backwards),
                let version = Int(name[dash.upperBound...].dropLast(".occmodel".count))
            else { continue }
            entries.append(Entry(
                file: name, modelID: String(name[..<dash.lowerBound]), version: version,
                isActive: name == active, isPrevious: name == previous))
        }
        return entries.sorted { ($0.version, $0.file) > ($1.version, $1.file) }
    }

    // MARK: Files

    private func makeDirectory() throws(OccupantError) {
        for dir in [stateDirectory, directory] where access(dir, F_OK) != 0 {
            if mkdir(dir, 0o750) != 0 && errno != EEXIST {
                throw OccupantError(.io, "cannot create \(dir): \(String(cString: strerror(errno)))")
            }
        }
    }

    private func readPointer(_ name: String) -> String? {
        guard let file = fopen(path(of: name), "r") else { return nil }
        defer { fclose(file) }
        var buffer = [CChar](repeating: 0, count: 512)
        guard fgets(&buffer, Int32(buffer.count), file) != nil else { return nil }
        let text = string(fromCBuffer: buffer).trimmingCharacters(in: .whitespacesAndNewlines)
        // A pointer names a file in this folder, nothing else.
        guard !text.isEmpty, !text.contains("/"), access(path(of: text), R_OK) == 0 else { return nil }
        return text
    }

    private func writePointer(_ name: String, _ file: String) throws(OccupantError) {
        try writeAtomically(Array((file + "\n").utf8), to: path(of: name))
    }

    /// temp file → write → fsync → rename → fsync(folder).
    private func writeAtomically(_ bytes: [UInt8], to target: String) throws(OccupantError) {
        let temporary = "\(directory)/.tmp-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o640)
        guard fd >= 0 else { throw OccupantError(.io, "cannot write in \(directory): \(String(cString: strerror(errno)))") }
        var offset = 0
        while offset < bytes.count {
            let n = bytes[offset...].withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
            if n < 0 {
                if errno == EINTR { continue }
                let reason = String(cString: strerror(errno))
                close(fd)
                unlink(temporary)
                throw OccupantError(.io, "writing \(target): \(reason)")
            }
            offset += n
        }
        guard fsync(fd) == 0 else {
            let reason = String(cString: strerror(errno))
            close(fd)
            unlink(temporary)
            throw OccupantError(.io, "fsync \(target): \(reason)")
        }
        close(fd)
        guard rename(temporary, target) == 0 else {
            let reason = String(cString: strerror(errno))
            unlink(temporary)
            throw OccupantError(.io, "rename into \(target): \(reason)")
        }
        let dirfd = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if dirfd >= 0 {
            fsync(dirfd)
            close(dirfd)
        }
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
