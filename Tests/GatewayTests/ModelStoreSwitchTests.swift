import Foundation
import OccupantCore
import OccupantTesting
import Testing

@testable import Gateway

/// The local disk, except that every change after the first `allowed` fails (a process stopped at that point).
struct StoppingFileSystem: FileSystem {
    let disk = LocalFileSystem()
    let allowed: Int
    private let changes = Locked(0)

    init(allowed: Int) { self.allowed = allowed }

    private func change() throws(OccupantError) {
        let n = changes.withLock { c -> Int in
            c += 1
            return c
        }
        if n > allowed { throw OccupantError(.io, "stopped before change \(n)") }
    }

    func writeAtomically(_ bytes: [UInt8], to path: String) throws(OccupantError) {
        try change()
        try disk.writeAtomically(bytes, to: path)
    }
    func createNew(_ bytes: [UInt8], at path: String, mode: UInt32) throws(OccupantError) {
        try change()
        try disk.createNew(bytes, at: path, mode: mode)
    }
    func append(_ bytes: [UInt8], to path: String) throws(OccupantError) {
        try change()
        try disk.append(bytes, to: path)
    }
    func sync(_ path: String, newFile: Bool) throws(OccupantError) { try disk.sync(path, newFile: newFile) }
    func read(_ path: String) throws(OccupantError) -> [UInt8] { try disk.read(path) }
    func list(_ folder: String) throws(OccupantError) -> [String] { try disk.list(folder) }
    func remove(_ path: String) throws(OccupantError) {
        try change()
        try disk.remove(path)
    }
    func size(_ path: String) throws(OccupantError) -> Int? { try disk.size(path) }
    func makeDirectories(_ path: String) throws(OccupantError) { try disk.makeDirectories(path) }
}

/// An install or a rollback stopped after any step leaves the old pair of pointers or the new one, never
/// `previous == active` (issue 11).
@Suite struct ModelStoreSwitchTests {
    /// A store with v1 and v2 installed (v2 active, v1 previous).
    func store(_ name: String) throws -> String {
        let state = try temporaryDirectory(name).path
        let store = ModelStore(stateDirectory: state)
        try store.install(Array("one".utf8), modelID: "m", version: 1)
        try store.install(Array("two".utf8), modelID: "m", version: 2)
        #expect(store.activeFile == "m-v2.occmodel" && store.previousFile == "m-v1.occmodel")
        return state
    }

    func pair(_ store: ModelStore) -> [String?] { [store.activeFile, store.previousFile] }

    @Test(arguments: 0..<6) func anInstallStoppedAfterAnyStep(allowed: Int) throws {
        let state = try store("switch-install-\(allowed)")
        let stopping = ModelStore(stateDirectory: state, files: StoppingFileSystem(allowed: allowed))
        let finished = (try? stopping.install(Array("three".utf8), modelID: "m", version: 3)) != nil
        let seen = pair(ModelStore(stateDirectory: state))
        let reopened = ModelStore.open(stateDirectory: state)
        #expect(pair(reopened) == seen)
        #expect(seen == ["m-v2.occmodel", "m-v1.occmodel"] || seen == ["m-v3.occmodel", "m-v2.occmodel"], "\(seen)")
        if finished { #expect(seen == ["m-v3.occmodel", "m-v2.occmodel"]) }
        #expect(try !reopened.files.list(reopened.directory).contains(ModelStore.switchFile))
    }

    @Test(arguments: 0..<5) func aRollbackStoppedAfterAnyStep(allowed: Int) throws {
        let state = try store("switch-rollback-\(allowed)")
        let stopping = ModelStore(stateDirectory: state, files: StoppingFileSystem(allowed: allowed))
        let finished = (try? stopping.rollback()) != nil
        let seen = pair(ModelStore(stateDirectory: state))
        let reopened = ModelStore.open(stateDirectory: state)
        #expect(pair(reopened) == seen)
        #expect(seen == ["m-v2.occmodel", "m-v1.occmodel"] || seen == ["m-v1.occmodel", "m-v2.occmodel"], "\(seen)")
        if finished { #expect(seen == ["m-v1.occmodel", "m-v2.occmodel"]) }
        // And back again.
        #expect(try reopened.rollback() == seen[1])
        #expect(pair(reopened) == [seen[1], seen[0]])
    }
}
